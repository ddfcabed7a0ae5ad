import { sql, type Transaction } from '@databases/pg';
import { errorMessage } from '../../errors/index.ts';
import { copyInto } from '../postgres/copy.ts';
import { escapeCopyText } from '../postgres/copy-text.ts';
import type { FileToLoad, RejectRecord, ResourceRecord } from '../raw/load-file.ts';
import type { MergedType, StagedTarget, TargetCounts } from '../raw/staged-target.ts';
import { VIEW_TABLES_LOCK, type ViewTable } from './view-tables.ts';

/**
 * Fills the view tables from a file's resources inside the file's transaction. Rows are
 * evaluated as resources stream by and staged per view (COPY into temporary tables); once
 * fhir_raw is merged, each changed resource's old rows are deleted and its new rows inserted,
 * so a resource seen again never leaves stale rows (a child view's lines included).
 */
export function viewTarget(tables: ViewTable[], options: { batchBytes?: number } = {}): StagedTarget {
  const limit = options.batchBytes ?? 4 << 20;
  const byType = new Map<string, StagedView[]>();
  const staged: StagedView[] = tables.map((table, i) => ({
    table,
    stage: `fhir_etl_stage_view_${i}`,
    parts: [],
    rows: 0,
  }));
  for (const view of staged) {
    const list = byType.get(view.table.view.resource) ?? [];
    list.push(view);
    byType.set(view.table.view.resource, list);
  }
  let bytes = 0;

  return {
    get full() {
      return bytes >= limit;
    },

    async begin(tx) {
      await tx.query(sql`SELECT pg_advisory_xact_lock_shared(${VIEW_TABLES_LOCK})`);
      for (const view of staged) {
        const columns = view.table.view.columns.map(
          (c, i) => sql`${sql.ident(c.name)} ${sql.__dangerous__rawValue(view.table.sqlTypes[i] ?? 'text')}`,
        );
        await tx.query(sql`
          CREATE TEMP TABLE ${sql.ident(view.stage)} (_seq integer, _resource_id text, ${sql.join(columns, ', ')})
          ON COMMIT DROP`);
      }
    },

    add(record: ResourceRecord, seq: number): RejectRecord | undefined {
      const views = byType.get(record.resourceType);
      if (!views) return undefined;
      const prefix = `${seq}\t${escapeCopyText(record.id)}`;
      let failure: RejectRecord | undefined;
      for (const view of views) {
        let rows: unknown[][];
        try {
          rows = view.table.view.emit(record.resource);
        } catch (error) {
          // The other views of this resource still get their rows.
          failure ??= evaluationReject(record, view.table, error);
          continue;
        }
        for (const row of rows) {
          const line = encodeRow(prefix, row, view.table);
          view.parts.push(line);
          bytes += line.length;
        }
      }
      return failure;
    },

    async flush(tx) {
      for (const view of staged) {
        if (view.parts.length === 0) continue;
        const payload = view.parts.join('');
        view.parts = [];
        await copyInto(tx, `COPY ${view.stage} FROM STDIN`, payload);
      }
      bytes = 0;
    },

    async finish(tx, file, merged) {
      // Lets the planner choose index lookups over scans of the whole view table.
      await tx.query(sql`ANALYZE fhir_etl_changed`);
      const counts: TargetCounts = {};
      for (const view of staged) {
        const change = merged[view.table.view.resource];
        counts[view.table.view.name] =
          change && change.inserted + change.updated > 0
            ? await replaceChangedRows(tx, view, file, change)
            : 0;
      }
      return counts;
    },
  };
}

interface StagedView {
  table: ViewTable;
  stage: string;
  parts: string[];
  rows: number;
}

function encodeRow(prefix: string, row: unknown[], table: ViewTable): string {
  let line = prefix;
  for (let i = 0; i < row.length; i++) line += `\t${(table.encoders[i] as (v: unknown) => string)(row[i])}`;
  return `${line}\n`;
}

/**
 * Replaces the rows of the resources that changed. Resources that were only inserted can have
 * no rows yet, so the delete is skipped when nothing was updated; and when every staged
 * resource changed (a first load), the staged rows go in without the join.
 */
async function replaceChangedRows(
  tx: Transaction,
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
  const everyStagedChanged = !change.repeated && change.inserted + change.updated === change.resources;
  const columns = view.table.view.columns.map((c) => sql.ident(c.name));
  const inserted = await tx.query(sql`
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
    SELECT count(*)::int AS rows FROM inserted`);
  return inserted[0].rows;
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
