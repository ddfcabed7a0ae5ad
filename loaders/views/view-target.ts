import { sql } from '@databases/pg';
import type { LoadTransaction } from '../postgres/load-transaction.ts';
import { errorMessage } from '../../errors/index.ts';
import { COPY_NULL, escapeCopyText } from '../postgres/copy-text.ts';
import type { LoadTarget, MergedType, TargetBatch } from '../raw/load-target.ts';
import { copyFields, type StagedCopy } from '../raw/safety-net.ts';
import type { FileToLoad, RejectRecord, ResourceRecord, TargetCounts } from '../raw/types.ts';
import { type ColumnEncoder, isBadValue } from '../values/column-values.ts';
import {
  deleteChangedValueErrors,
  insertValueErrors,
  recordedValue,
  type ValueError,
} from '../values/value-errors.ts';
import { VIEW_TABLES_LOCK, type ViewTable } from './view-tables.ts';
import { queryRow } from '../postgres/query-row.ts';

/**
 * Fills the view tables from a file's resources inside the file's transaction. Rows are
 * evaluated as resources stream by. A resource the loader copies straight into fhir_raw (its
 * id is new there, see load-file.ts) has no rows yet in any view, so its rows are copied
 * straight into the view tables too, in the loader's savepoint. The other rows are staged per
 * view (COPY into temporary tables); once fhir_raw is merged, each changed resource's old rows
 * are deleted and its new rows inserted, so a resource seen again never leaves stale rows (a
 * child view's lines included).
 *
 * Each value is checked against its column's type as it is encoded (column-values.ts): a value
 * the column cannot hold is written NULL and recorded in fhir_etl.value_errors, following its
 * row (recorded when the row is written, replaced when the row is replaced).
 */
export function viewTarget(tables: ViewTable[], options: { batchBytes?: number } = {}): LoadTarget {
  const limit = options.batchBytes ?? 4 << 20;
  const byType = new Map<string, StagedView[]>();
  const views: StagedView[] = tables.map((table, i) => ({
    table,
    stage: `fhir_etl_stage_view_${i}`,
    created: false,
    stagedRows: 0,
    directRows: 0,
    pending: emptyPending(),
  }));
  for (const view of views) {
    const list = byType.get(view.table.view.resource) ?? [];
    list.push(view);
    byType.set(view.table.view.resource, list);
  }
  let bytes = 0;
  /** Value errors of rows written straight into the view tables, and of staged rows (kept if merged). */
  const landedErrors: ValueError[] = [];
  const stagedErrors: ValueError[] = [];

  const take = (): TargetBatch => {
    const detached = views.map((view) => {
      const pending = view.pending;
      view.pending = emptyPending();
      return { view, pending };
    });
    bytes = 0;
    const ofType = (resourceType: string) =>
      detached.filter(({ view }) => view.table.view.resource === resourceType);
    return {
      async copyDirect(tx, file, resourceType) {
        const tail = `\t${escapeCopyText(file.source)}\t${file.runId}\n`;
        for (const { view, pending } of ofType(resourceType)) {
          if (pending.direct.length === 0) continue;
          await tx.copyFrom(directCopyStatement(view.table), pending.direct.join(tail) + tail);
        }
      },
      landed(resourceType) {
        for (const { view, pending } of ofType(resourceType)) {
          view.directRows += pending.direct.length;
          for (const error of pending.directErrors) landedErrors.push(error);
        }
      },
      demote(resourceType) {
        for (const { pending } of ofType(resourceType)) {
          for (let i = 0; i < pending.direct.length; i++) {
            pending.staged.push(`${pending.direct[i] as string}\t${pending.directSeqs[i] as number}\n`);
          }
          pending.direct = [];
          pending.directSeqs = [];
          for (const error of pending.directErrors) pending.stagedErrors.push(error);
          pending.directErrors = [];
        }
      },
      async stagedCopies(tx) {
        const copies: StagedCopy[] = [];
        for (const { view, pending } of detached) {
          for (const error of pending.stagedErrors) stagedErrors.push(error);
          if (pending.staged.length === 0) continue;
          if (!view.created) await createStage(tx, view);
          view.stagedRows += pending.staged.length;
          copies.push(stagedViewCopy(view, pending.staged.join('')));
        }
        return copies;
      },
    };
  };

  return {
    get full() {
      return bytes >= limit;
    },

    async begin(tx) {
      await tx.query(sql`SELECT pg_advisory_xact_lock_shared(${VIEW_TABLES_LOCK})`);
    },

    add(record: ResourceRecord, seq: number, direct = false): RejectRecord | undefined {
      const typeViews = byType.get(record.resourceType);
      if (!typeViews) return undefined;
      const id = escapeCopyText(record.id);
      let failure: RejectRecord | undefined;
      for (const view of typeViews) {
        let rows: unknown[][];
        try {
          rows = view.table.view.emit(record.resource);
        } catch (error) {
          // The other views of this resource still get their rows.
          failure ??= evaluationReject(record, view.table, error);
          continue;
        }
        const pending = view.pending;
        for (const row of rows) {
          const body = encodeRow(
            id,
            row,
            view.table,
            record,
            direct ? pending.directErrors : pending.stagedErrors,
          );
          if (direct) {
            pending.direct.push(body);
            pending.directSeqs.push(seq);
          } else {
            pending.staged.push(`${body}\t${seq}\n`);
          }
          bytes += body.length + 8;
        }
      }
      return failure;
    },

    take,

    async finish(tx, file, merged) {
      const counts: TargetCounts = {};
      // Rows written directly were new; a later copy of the same resource in this file replaced
      // them (and their errors, deleted with the changed resources' below).
      let valueErrors = await insertValueErrors(tx, file, landedErrors, false);
      const changed = (view: StagedView) => {
        const change = merged[view.table.view.resource];
        return change && change.inserted + change.updated > 0 ? change : undefined;
      };
      // Lets the planner choose index lookups over scans of the whole view table.
      if (views.some(changed)) await tx.query(sql`ANALYZE fhir_etl_changed`);
      for (const view of views) {
        const change = changed(view);
        if (change && change.updated > 0) {
          await deleteChangedValueErrors(tx, file, view.table.view.name, view.table.view.resource);
        }
        const replaced = change ? await replaceChangedRows(tx, view, file, change) : 0;
        counts[view.table.view.name] = view.directRows + replaced;
      }
      valueErrors += await insertValueErrors(tx, file, stagedErrors, true);
      return { rows: counts, valueErrors };
    },
  };
}

interface StagedView {
  table: ViewTable;
  /** The temporary staging table, created on first use: a file whose rows all go direct needs none. */
  stage: string;
  created: boolean;
  stagedRows: number;
  /** Rows copied straight into the view table (savepoint released). */
  directRows: number;
  pending: PendingRows;
}

/**
 * Rows not yet sent. A row is its resource id and columns in COPY text (`body`); a staged row
 * ends with its line number (`_seq`), a direct one gets `_source` and `_run_id` when sent
 * (`join` with that tail: no per-row copy).
 */
interface PendingRows {
  staged: string[];
  direct: string[];
  directSeqs: number[];
  /** The value errors of those rows. */
  stagedErrors: ValueError[];
  directErrors: ValueError[];
}

function emptyPending(): PendingRows {
  return { staged: [], direct: [], directSeqs: [], stagedErrors: [], directErrors: [] };
}

async function createStage(tx: LoadTransaction, view: StagedView): Promise<void> {
  const columns = view.table.view.columns.map(
    (c, i) => sql`${sql.ident(c.name)} ${sql.__dangerous__rawValue(view.table.sqlTypes[i] ?? 'text')}`,
  );
  await tx.query(sql`
    CREATE TEMP TABLE ${sql.ident(view.stage)} (_resource_id text, ${sql.join(columns, ', ')}, _seq integer)
    ON COMMIT DROP`);
  view.created = true;
}

/** The COPY of a view's staged rows; a row PostgreSQL refuses becomes a reject naming the view. */
function stagedViewCopy(view: StagedView, payload: string): StagedCopy {
  return {
    statement: `COPY ${view.stage} FROM STDIN`,
    payload,
    refused(row, error) {
      const fields = copyFields(row);
      return {
        ok: false,
        line: Number(fields[fields.length - 1]),
        resourceType: view.table.view.resource,
        id: fields[0] ?? undefined,
        reason: `view ${view.table.view.name}: PostgreSQL refused a row: ${error.message} (the resource is in fhir_raw; this row of the view is not)`,
        text: '',
      };
    },
  };
}

function directCopyStatement(table: ViewTable): string {
  const columns = ['_resource_id', ...table.view.columns.map((c) => c.name), '_source', '_run_id'];
  return `COPY ${quoteIdent(table.schema)}.${quoteIdent(table.table)} (${columns.map(quoteIdent).join(', ')}) FROM STDIN`;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A row's COPY text; each value its column cannot hold is written NULL and added to `errors`. */
function encodeRow(
  id: string,
  row: unknown[],
  table: ViewTable,
  record: ResourceRecord,
  errors: ValueError[],
): string {
  let line = id;
  for (let i = 0; i < row.length; i++) {
    const encoded = (table.encoders[i] as ColumnEncoder)(row[i]);
    if (isBadValue(encoded)) {
      line += `\t${COPY_NULL}`;
      errors.push({
        line: record.line,
        resourceType: record.resourceType,
        resourceId: record.id,
        view: table.view.name,
        column: (table.view.columns[i] as { name: string }).name,
        value: recordedValue(row[i]),
        reason: encoded.reason,
      });
    } else {
      line += `\t${encoded}`;
    }
  }
  return line;
}

/**
 * Replaces the rows of the resources that changed. Resources that were only inserted can have
 * no rows yet, so the delete is skipped when nothing was updated; and when every staged
 * resource changed (a first load), the staged rows go in without the join.
 */
async function replaceChangedRows(
  tx: LoadTransaction,
  view: StagedView,
  file: FileToLoad,
  change: MergedType,
): Promise<number> {
  const target = sql.ident(view.table.schema, view.table.table);
  const type = view.table.view.resource;
  if (change.updated > 0) {
    await tx.query(sql`
      DELETE FROM ${target} t USING fhir_etl_changed c
      WHERE c.resource_type = ${type} AND t._source = ${file.source} AND t._resource_id = c.id`);
  }
  // No staged row: the changed resources yield no row in this view (the delete above still ran).
  if (!view.created) return 0;
  const everyStagedChanged = !change.repeated && change.inserted + change.updated === change.resources;
  const columns = view.table.view.columns.map((c) => sql.ident(c.name));
  const inserted = await queryRow<{ rows: number }>(
    tx,
    sql`
    WITH inserted AS (
      INSERT INTO ${target} (_source, _resource_id, _run_id, ${sql.join(columns, ', ')})
      SELECT ${file.source}, s._resource_id, ${file.runId}, ${sql.join(
        columns.map((c) => sql`s.${c}`),
        ', ',
      )}
      FROM ${sql.ident(view.stage)} s
      ${
        everyStagedChanged
          ? sql``
          : sql`JOIN fhir_etl_changed c ON c.resource_type = ${type} AND c.id = s._resource_id AND c.seq = s._seq`
      }
      RETURNING 1
    )
    SELECT count(*)::int AS rows FROM inserted`,
  );
  return inserted.rows;
}

function evaluationReject(record: ResourceRecord, table: ViewTable, error: unknown): RejectRecord {
  const expression = (error as { context?: { expression?: string } }).context?.expression;
  return {
    ok: false,
    line: record.line,
    resourceType: record.resourceType,
    id: record.id,
    reason: `view ${table.view.name}${expression ? `, expression \`${expression}\`` : ''}: ${errorMessage(error)} (the resource is in fhir_raw; its rows in this view are not)`,
    text: record.text,
  };
}
