import { createHash } from 'node:crypto';
import { type SQLQuery, sql } from '@databases/pg';
import type { SqlQueryable } from '../postgres/load-transaction.ts';
import type { CompiledView, SelectNode, ViewDefinition } from '../../transforms/index.ts';
import { type ColumnEncoder, encoderFor, sqlTypeOf } from './column-types.ts';
import { qualifiedName, type TableChange } from './table-changes.ts';
import { queryRows } from '../postgres/query-rows.ts';

/** A compiled view bound to its table: where its rows go and how each column is encoded. */
export interface ViewTable {
  view: CompiledView;
  schema: string;
  table: string;
  sqlTypes: string[];
  /** Per column: checks a value against the column's type and encodes it for COPY. */
  encoders: ColumnEncoder[];
  /** Hash of the definition: a table built from another signature is rebuilt. */
  signature: string;
}

/** Loads and rebuilds take this lock shared; creating or rebuilding view tables takes it alone. */
export const VIEW_TABLES_LOCK = 74_110_003;

export function viewTable(view: CompiledView, schema: string): ViewTable {
  const sqlTypes = view.columns.map(sqlTypeOf);
  return {
    view,
    schema,
    table: view.name,
    sqlTypes,
    encoders: sqlTypes.map(encoderFor),
    signature: createHash('sha256')
      .update(JSON.stringify({ schema, definition: view.definition, sqlTypes }))
      .digest('hex')
      .slice(0, 32),
  };
}

/**
 * The views whose table is missing or was built from another definition. Their tables must
 * be (re)built from fhir_raw before a load writes to them, or they would mix old and new rows.
 */
export async function staleViewTables(db: SqlQueryable, tables: ViewTable[]): Promise<ViewTable[]> {
  const built: Array<{ name: string; signature: string; table_schema: string }> = await queryRows(
    db,
    sql`SELECT name, signature, table_schema FROM fhir_etl.views`,
  );
  const signatures = new Map(built.map((row) => [row.name, `${row.table_schema}:${row.signature}`]));
  return tables.filter((t) => signatures.get(t.view.name) !== `${t.schema}:${t.signature}`);
}

/**
 * Gives the (emptied) table the columns its view has now, keeping its identity: a missing
 * table is created; an existing one is changed with ALTER TABLE (columns added, dropped,
 * retyped), so its grants, comments, indexes, BI metadata and the views over it stay. Its
 * comments follow the view's descriptions, except where someone wrote their own. The view and
 * its definition are recorded in fhir_etl.views.
 */
export async function migrateViewTable(
  tx: SqlQueryable,
  target: ViewTable,
  change: TableChange,
): Promise<void> {
  const previous = await previousDefinition(tx, target);
  if (change.exists) await alterViewTable(tx, target, change);
  else await createViewTable(tx, target);
  await ensureKeys(tx, target);
  await describeTable(tx, target, previous);
  await tx.query(sql`
    INSERT INTO fhir_etl.views (name, resource_type, table_schema, signature, definition, built_at)
    VALUES (${target.view.name}, ${target.view.resource}, ${target.schema}, ${target.signature},
            ${JSON.stringify(target.view.definition)}::jsonb, now())
    ON CONFLICT (name) DO UPDATE SET resource_type = EXCLUDED.resource_type, table_schema = EXCLUDED.table_schema,
      signature = EXCLUDED.signature, definition = EXCLUDED.definition, built_at = now()`);
}

async function createViewTable(tx: SqlQueryable, target: ViewTable): Promise<void> {
  const table = sql.ident(target.schema, target.table);
  await tx.query(sql`CREATE SCHEMA IF NOT EXISTS ${sql.ident(target.schema)}`);
  const columns = target.view.columns.map(
    (column, i) => sql`${sql.ident(column.name)} ${sql.__dangerous__rawValue(target.sqlTypes[i] ?? 'text')}`,
  );
  await tx.query(sql`
    CREATE TABLE ${table} (
      _source text NOT NULL,
      _resource_id text NOT NULL,
      _run_id bigint NOT NULL,
      ${sql.join(columns, ', ')}
    )`);
  await tx.query(sql`CREATE INDEX ON ${table} (_source, _resource_id)`);
  for (const column of target.view.columns) await indexJoinKey(tx, target, column.name);
}

/** The table is empty here (it is refilled next), so a retype needs no conversion of old values. */
async function alterViewTable(tx: SqlQueryable, target: ViewTable, change: TableChange): Promise<void> {
  const table = sql.ident(target.schema, target.table);
  const typeOf = (name: string) =>
    sql.__dangerous__rawValue(
      target.sqlTypes[target.view.columns.findIndex((c) => c.name === name)] ?? 'text',
    );
  for (const column of change.drop)
    await tx.query(sql`ALTER TABLE ${table} DROP COLUMN ${sql.ident(column)}`);
  for (const { column } of change.retype) {
    await tx.query(
      sql`ALTER TABLE ${table} ALTER COLUMN ${sql.ident(column)} TYPE ${typeOf(column)} USING NULL`,
    );
  }
  for (const column of change.add) {
    await tx.query(sql`ALTER TABLE ${table} ADD COLUMN ${sql.ident(column)} ${typeOf(column)}`);
    await indexJoinKey(tx, target, column);
  }
}

/**
 * A top-level view (one row per resource) has the primary key (_source, id), which BI tools
 * read to infer keys and joins; a child view (forEach) has many rows per resource and none.
 */
async function ensureKeys(tx: SqlQueryable, target: ViewTable): Promise<void> {
  const wanted = isTopLevel(target) ? ['_source', 'id'] : [];
  const [current]: Array<{ name: string; columns: string[] }> = await queryRows(
    tx,
    sql`
    SELECT c.conname AS name, array_agg(a.attname::text ORDER BY k.ord) AS columns
    FROM pg_constraint c
    CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
    WHERE c.conrelid = to_regclass(${qualifiedName(target)}) AND c.contype = 'p'
    GROUP BY c.conname`,
  );
  const have: string[] = current?.columns ?? [];
  if (have.join(',') === wanted.join(',')) return;
  const table = sql.ident(target.schema, target.table);
  if (current) await tx.query(sql`ALTER TABLE ${table} DROP CONSTRAINT ${sql.ident(current.name)}`);
  if (wanted.length > 0) await tx.query(sql`ALTER TABLE ${table} ADD PRIMARY KEY (_source, id)`);
}

/** One row per resource, keyed by the resource id: no forEach, and an `id` column. */
export function isTopLevel(target: ViewTable): boolean {
  const unrolls = (nodes: SelectNode[] | undefined): boolean =>
    (nodes ?? []).some(
      (node) =>
        node.forEach !== undefined ||
        node.forEachOrNull !== undefined ||
        node.repeat !== undefined ||
        node.unionAll !== undefined ||
        unrolls(node.select),
    );
  const id = target.view.columns.find((column) => column.name === 'id');
  return id !== undefined && !id.collection && !unrolls(target.view.definition.select);
}

async function indexJoinKey(tx: SqlQueryable, target: ViewTable, name: string): Promise<void> {
  const column = target.view.columns.find((c) => c.name === name);
  if (column && isJoinKey(column.name) && !column.collection)
    await tx.query(
      sql`CREATE INDEX ON ${sql.ident(target.schema, target.table)} (${sql.ident(column.name)})`,
    );
}

/**
 * COMMENT ON the table and its columns from the view's descriptions. A comment someone wrote
 * by hand (it is neither empty nor what fhir-etl wrote from the previous definition) is kept.
 */
async function describeTable(
  tx: SqlQueryable,
  target: ViewTable,
  previous: ViewDefinition | undefined,
): Promise<void> {
  const table = sql.ident(target.schema, target.table);
  const comments: Array<{ column: string | null; comment: string }> = await queryRows(
    tx,
    sql`
    SELECT NULL AS column, obj_description(to_regclass(${qualifiedName(target)}), 'pg_class') AS comment
    UNION ALL
    SELECT a.attname, col_description(a.attrelid, a.attnum) FROM pg_attribute a
    WHERE a.attrelid = to_regclass(${qualifiedName(target)}) AND a.attnum > 0 AND NOT a.attisdropped`,
  );
  const current = new Map(comments.map((row) => [row.column, row.comment]));
  const before = previous ? toolComments(target.view.name, previous) : new Map<string | null, string>();
  const after = toolComments(target.view.name, target.view.definition);
  for (const [column, text] of after) {
    const now = current.get(column) ?? null;
    if (now === text || (now !== null && now !== before.get(column))) continue;
    const what =
      column === null ? sql`TABLE ${table}` : sql`COLUMN ${sql.ident(target.schema, target.table, column)}`;
    await tx.query(comment(what, text));
  }
}

/** The comments fhir-etl writes for a definition: the table's (key null) and each column's. */
function toolComments(name: string, definition: ViewDefinition): Map<string | null, string> {
  const resource = definition.resource;
  const comments = new Map<string | null, string>([
    [null, describeView(name, definition)],
    ['_source', 'Name of the source the row was loaded from.'],
    ['_resource_id', `Id of the ${resource} the row was derived from.`],
    ['_run_id', 'fhir_etl.runs.id of the run that wrote the row.'],
  ]);
  const walk = (nodes: SelectNode[] | undefined) => {
    for (const node of nodes ?? []) {
      for (const column of node.column ?? [])
        if (column.description) comments.set(column.name, column.description);
      walk(node.select);
      walk(node.unionAll);
    }
  };
  walk(definition.select);
  return comments;
}

async function previousDefinition(tx: SqlQueryable, target: ViewTable): Promise<ViewDefinition | undefined> {
  const [row]: Array<{ definition: unknown }> = await queryRows(
    tx,
    sql`SELECT definition FROM fhir_etl.views WHERE name = ${target.view.name}`,
  );
  return row?.definition as ViewDefinition | undefined;
}

/** `id`, `patient_id`, `eob_id`, ...: the columns analysts join on get an index. */
function isJoinKey(name: string): boolean {
  return name === 'id' || name.endsWith('_id');
}

function describeView(name: string, definition: ViewDefinition): string {
  const description = typeof definition.description === 'string' ? definition.description : '';
  return `${description}${description ? ' ' : ''}(SQL on FHIR view "${name}" over ${definition.resource}; built by fhir-etl.)`;
}

function comment(target: SQLQuery, text: string): SQLQuery {
  return sql`COMMENT ON ${target} IS ${sql.__dangerous__rawValue(quoteLiteral(text))}`;
}

function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
