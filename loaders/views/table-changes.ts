import { sql } from '@databases/pg';
import type { SqlQueryable } from '../postgres/load-transaction.ts';
import type { ViewTable } from './view-tables.ts';
import { queryRows } from '../postgres/query-rows.ts';

/** The columns fhir-etl adds to every view table, ahead of the view's own. */
export const SYSTEM_COLUMNS = ['_source', '_resource_id', '_run_id'] as const;

/**
 * What ALTER TABLE must do so an existing view table has the columns its view gives it now
 * (after a user edits the view, or an upgrade ships a changed one). A table that does not
 * exist yet is created instead; one whose columns already match is only refilled.
 */
export interface TableChange {
  exists: boolean;
  add: string[];
  drop: string[];
  /** Columns whose SQL type changes, with the type they have now. */
  retype: Array<{ column: string; from: string; to: string }>;
}

/** Compares the table as it is in the warehouse with the columns its view gives it. */
export async function planTableChange(db: SqlQueryable, target: ViewTable): Promise<TableChange> {
  const existing: Array<{ name: string; type: string }> = await queryRows(
    db,
    sql`
      SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
      FROM pg_attribute a
      WHERE a.attrelid = to_regclass(${qualifiedName(target)}) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
  );
  if (existing.length === 0) return { exists: false, add: [], drop: [], retype: [] };
  const wanted = new Map(target.view.columns.map((column, i) => [column.name, target.sqlTypes[i] ?? 'text']));
  const have = new Map(existing.map((column) => [column.name, column.type]));
  const canonical = await canonicalTypes(db, [...new Set(wanted.values())]);
  const system = new Set<string>(SYSTEM_COLUMNS);
  return {
    exists: true,
    add: [...wanted.keys()].filter((name) => !have.has(name)),
    drop: existing.map((column) => column.name).filter((name) => !wanted.has(name) && !system.has(name)),
    retype: [...wanted]
      .filter(([name, type]) => have.has(name) && have.get(name) !== canonical.get(type))
      .map(([column, to]) => ({ column, from: have.get(column) as string, to })),
  };
}

/** Whether a change touches existing columns (views that read them may block it). */
export function changesColumns(change: TableChange): boolean {
  return change.drop.length > 0 || change.retype.length > 0;
}

/** `schema.table`, quoted as to_regclass and format('%I.%I') want it. */
export function qualifiedName(target: Pick<ViewTable, 'schema' | 'table'>): string {
  return `${quoteIdent(target.schema)}.${quoteIdent(target.table)}`;
}

/** PostgreSQL's own spelling of each type (`timestamptz` is `timestamp with time zone`). */
async function canonicalTypes(db: SqlQueryable, types: string[]): Promise<Map<string, string>> {
  const rows: Array<{ type: string; canonical: string }> = await queryRows(
    db,
    sql`
    SELECT t AS type, format_type(to_regtype(t), NULL) AS canonical FROM unnest(${types}::text[]) AS t`,
  );
  return new Map(rows.map((row) => [row.type, row.canonical]));
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
