import { type ConnectionPool, sql } from '@databases/pg';
import { loadTransaction } from '../postgres/load-connections.ts';
import type { LoadTransaction, SqlQueryable } from '../postgres/load-transaction.ts';
import { type BlockedTable, ViewDependentsError } from '../errors.ts';
import { escapeCopyText } from '../postgres/copy-text.ts';
import { rawTableName } from '../raw/raw-tables.ts';
import { isBadValue } from '../values/column-values.ts';
import { recordedValue } from '../values/value-errors.ts';
import type { ColumnEncoder } from './column-types.ts';
import {
  type DependentsOutcome,
  type DependentView,
  dependentViews,
  recreateViews,
  saveAndDropViews,
} from './dependents.ts';
import { changesColumns, planTableChange, type TableChange } from './table-changes.ts';
import { migrateViewTable, staleViewTables, VIEW_TABLES_LOCK, type ViewTable } from './view-tables.ts';
import { queryRows } from '../postgres/query-rows.ts';
import { queryRow } from '../postgres/query-row.ts';

export interface RebuildResult {
  view: string;
  rows: number;
  resources: number;
  /** Values written NULL because the column cannot hold them (recorded in fhir_etl.value_errors). */
  valueErrors: number;
  failures: Array<{ source: string; id: string; error: string }>;
  /** The views over the table that were saved, dropped and made again around a column change. */
  dependents: DependentsOutcome;
}

export interface RebuildOptions {
  /** Also save, drop and recreate the user's views that read a column that changes. */
  cascade?: boolean;
  /** The run recorded with views that could not be recreated (fhir_etl.dropped_views). */
  runId?: number;
  onProgress?: (view: string, resources: number) => void;
}

const PAGE = 2000;

/**
 * Refills each view's table from fhir_raw (every source, deleted resources excluded) without
 * extracting again, one transaction per view, so a view is either wholly rebuilt or left as it
 * was. The table keeps its identity: unchanged columns are refilled in place; a changed view
 * migrates its table with ALTER TABLE first. A change that the user's views stand in the way
 * of is refused for every table before any is touched, unless `cascade`. Resources whose
 * evaluation fails are reported, not fatal.
 */
export async function rebuildViewTables(
  db: ConnectionPool,
  tables: ViewTable[],
  options: RebuildOptions = {},
): Promise<RebuildResult[]> {
  await refuseBlockedChanges(db, tables, options.cascade === true);
  const results: RebuildResult[] = [];
  for (const table of tables) {
    results.push((await loadTransaction(db, (tx) => rebuildOne(tx, table, options, false))) as RebuildResult);
  }
  return results;
}

/** Rebuilds the tables that are missing or were built from another definition (an edit, an upgrade). */
export async function rebuildStaleViewTables(
  db: ConnectionPool,
  tables: ViewTable[],
): Promise<RebuildResult[]> {
  const stale = await staleViewTables(db, tables);
  await refuseBlockedChanges(db, stale, false);
  const results: RebuildResult[] = [];
  for (const table of stale) {
    // Checked again under the lock: a concurrent load may have rebuilt it meanwhile.
    const result = await loadTransaction(db, (tx) => rebuildOne(tx, table, {}, true));
    if (result) results.push(result);
  }
  return results;
}

/** Throws ViewDependentsError naming every table whose change the user's views block (none with `cascade`). */
export async function refuseBlockedChanges(
  db: ConnectionPool,
  tables: ViewTable[],
  cascade: boolean,
): Promise<void> {
  if (cascade) return;
  const blocked: BlockedTable[] = [];
  for (const table of tables) {
    const change = await planTableChange(db, table);
    const blocking = userViews(await dependentsOf(db, table, change));
    if (blocking.length > 0) blocked.push(blockedTable(table, change, blocking));
  }
  if (blocked.length > 0) throw new ViewDependentsError(blocked);
}

async function rebuildOne(
  tx: LoadTransaction,
  table: ViewTable,
  options: RebuildOptions,
  onlyIfStale: boolean,
): Promise<RebuildResult | undefined> {
  await tx.query(sql`SELECT pg_advisory_xact_lock(${VIEW_TABLES_LOCK})`);
  if (onlyIfStale && (await staleViewTables(tx, [table])).length === 0) return undefined;
  const change = await planTableChange(tx, table);
  const dependents = await dependentsOf(tx, table, change);
  // Planned again under the lock: a view created since the check must not be dropped unasked.
  const blocking = userViews(dependents);
  if (blocking.length > 0 && options.cascade !== true)
    throw new ViewDependentsError([blockedTable(table, change, blocking)]);
  const saved = await saveAndDropViews(tx, dependents);
  if (change.exists) await tx.query(sql`TRUNCATE ${sql.ident(table.schema, table.table)}`);
  await migrateViewTable(tx, table, change);
  const result: RebuildResult = {
    view: table.view.name,
    rows: 0,
    resources: 0,
    valueErrors: 0,
    failures: [],
    dependents: { recreated: [], notRecreated: [] },
  };
  // The view's rows are all written again, and its value errors found again.
  await tx.query(sql`DELETE FROM fhir_etl.value_errors WHERE view_name = ${table.view.name}`);
  await fill(tx, table, result, options.onProgress);
  await tx.query(sql`ANALYZE ${sql.ident(table.schema, table.table)}`);
  result.dependents = await recreateViews(tx, saved, options.runId);
  return result;
}

/** The table's rows, evaluated from fhir_raw page by page and COPYed in. */
async function fill(
  tx: LoadTransaction,
  table: ViewTable,
  result: RebuildResult,
  onProgress: RebuildOptions['onProgress'],
): Promise<void> {
  const raw = rawTableName(table.view.resource);
  const exists = await queryRow<{ present: boolean }>(
    tx,
    sql`SELECT to_regclass(${`fhir_raw.${raw}`}) IS NOT NULL AS present`,
  );
  if (!exists.present) return;
  const copy = `COPY ${quoteIdent(table.schema)}.${quoteIdent(table.table)} (_source, _resource_id, _run_id, ${table.view.columns
    .map((c) => quoteIdent(c.name))
    .join(', ')}) FROM STDIN`;
  let after = { source: '', id: '' };
  for (;;) {
    const page: Array<{ source: string; id: string; run_id: number; resource: string }> = await queryRows(
      tx,
      sql`
      SELECT source, id, run_id, resource::text AS resource FROM ${sql.ident('fhir_raw', raw)}
      WHERE NOT deleted AND (source, id) > (${after.source}, ${after.id})
      ORDER BY source, id LIMIT ${PAGE}`,
    );
    if (page.length === 0) break;
    const lines: string[] = [];
    const bad: BadCell[] = [];
    for (const row of page) {
      result.resources++;
      try {
        for (const values of table.view.emit(JSON.parse(row.resource) as Record<string, unknown>)) {
          let line = `${escapeCopyText(row.source)}\t${escapeCopyText(row.id)}\t${row.run_id}`;
          for (let i = 0; i < values.length; i++) {
            const encoded = (table.encoders[i] as ColumnEncoder)(values[i]);
            if (isBadValue(encoded)) {
              line += '\t\\N';
              bad.push({
                source: row.source,
                id: row.id,
                column: i,
                value: values[i],
                reason: encoded.reason,
              });
            } else {
              line += `\t${encoded}`;
            }
          }
          lines.push(`${line}\n`);
        }
      } catch (error) {
        result.failures.push({ source: row.source, id: row.id, error: (error as Error).message });
      }
    }
    if (lines.length > 0) await tx.copyFrom(copy, lines.join(''));
    if (bad.length > 0) await recordBadCells(tx, table, bad);
    result.valueErrors += bad.length;
    result.rows += lines.length;
    const last = page[page.length - 1] as { source: string; id: string };
    after = { source: last.source, id: last.id };
    onProgress?.(table.view.name, result.resources);
  }
}

/** The views a change must drop and recreate: those reading a column it drops or retypes, and any over them. */
async function dependentsOf(
  db: SqlQueryable,
  table: ViewTable,
  change: TableChange,
): Promise<DependentView[]> {
  if (!changesColumns(change)) return [];
  return dependentViews(db, table, [...change.drop, ...change.retype.map((r) => r.column)]);
}

/** The dependents that are not the tool's own (the tool's own never block). */
function userViews(dependents: DependentView[]): DependentView[] {
  return dependents.filter((view) => !view.owned);
}

function blockedTable(table: ViewTable, change: TableChange, blocking: DependentView[]): BlockedTable {
  return {
    table: `${table.schema}.${table.table}`,
    view: table.view.name,
    changes: [
      ...change.retype.map((r) => `${r.column} from ${r.from} to ${r.to}`),
      ...change.drop.map((column) => `${column} dropped`),
    ],
    dependents: blocking.map((view) => ({ name: `${view.schema}.${view.name}`, columns: view.columns })),
  };
}

/** A value the rebuild wrote NULL. */
interface BadCell {
  source: string;
  id: string;
  column: number;
  value: unknown;
  reason: string;
}

/** Records the bad values a rebuild found; it knows neither the file nor the line they came from. */
async function recordBadCells(tx: LoadTransaction, table: ViewTable, bad: BadCell[]): Promise<void> {
  await tx.query(sql`
    INSERT INTO fhir_etl.value_errors (source, resource_type, resource_id, view_name, column_name, value, reason)
    SELECT b.source, ${table.view.resource}, b.id, ${table.view.name}, b.column_name, b.value, b.reason
    FROM unnest(${bad.map((b) => b.source)}::text[], ${bad.map((b) => b.id)}::text[],
                ${bad.map((b) => (table.view.columns[b.column] as { name: string }).name)}::text[],
                ${bad.map((b) => recordedValue(b.value))}::text[], ${bad.map((b) => b.reason)}::text[])
      AS b(source, id, column_name, value, reason)`);
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
