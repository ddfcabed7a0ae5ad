import { createHash } from 'node:crypto';
import { type ConnectionPool, type SQLQuery, sql, type Transaction } from '@databases/pg';
import type { CompiledView } from '../../transforms/index.ts';
import { type ColumnEncoder, encoderFor, sqlTypeOf } from './column-types.ts';

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
export async function staleViewTables(
  db: ConnectionPool | Transaction,
  tables: ViewTable[],
): Promise<ViewTable[]> {
  const built: Array<{ name: string; signature: string; table_schema: string }> = await db.query(
    sql`SELECT name, signature, table_schema FROM fhir_etl.views`,
  );
  const signatures = new Map(built.map((row) => [row.name, `${row.table_schema}:${row.signature}`]));
  return tables.filter((t) => signatures.get(t.view.name) !== `${t.schema}:${t.signature}`);
}

/** Drops and recreates a view's table with its columns, indexes and comments, and records it. */
export async function recreateViewTable(tx: Transaction, target: ViewTable): Promise<void> {
  const table = sql.ident(target.schema, target.table);
  await tx.query(sql`CREATE SCHEMA IF NOT EXISTS ${sql.ident(target.schema)}`);
  await tx.query(sql`DROP TABLE IF EXISTS ${table}`);
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
  for (const column of target.view.columns) {
    if (isJoinKey(column.name) && !column.collection)
      await tx.query(sql`CREATE INDEX ON ${table} (${sql.ident(column.name)})`);
  }
  await tx.query(comment(sql`TABLE ${table}`, describeView(target.view)));
  await tx.query(comment(sql`COLUMN ${table}._source`, 'Name of the source the row was loaded from.'));
  await tx.query(
    comment(sql`COLUMN ${table}._resource_id`, `Id of the ${target.view.resource} the row was derived from.`),
  );
  await tx.query(comment(sql`COLUMN ${table}._run_id`, 'fhir_etl.runs.id of the run that wrote the row.'));
  for (const column of target.view.columns) {
    if (column.description) {
      await tx.query(
        comment(sql`COLUMN ${sql.ident(target.schema, target.table, column.name)}`, column.description),
      );
    }
  }
  await tx.query(sql`
    INSERT INTO fhir_etl.views (name, resource_type, table_schema, signature, definition, built_at)
    VALUES (${target.view.name}, ${target.view.resource}, ${target.schema}, ${target.signature},
            ${JSON.stringify(target.view.definition)}::jsonb, now())
    ON CONFLICT (name) DO UPDATE SET resource_type = EXCLUDED.resource_type, table_schema = EXCLUDED.table_schema,
      signature = EXCLUDED.signature, definition = EXCLUDED.definition, built_at = now()`);
}

/** `id`, `patient_id`, `eob_id`, ...: the columns analysts join on get an index. */
function isJoinKey(name: string): boolean {
  return name === 'id' || name.endsWith('_id');
}

function describeView(view: CompiledView): string {
  const description = typeof view.definition.description === 'string' ? view.definition.description : '';
  return `${description}${description ? ' ' : ''}(SQL on FHIR view "${view.name}" over ${view.resource}; built by fhir-etl.)`;
}

function comment(target: SQLQuery, text: string): SQLQuery {
  return sql`COMMENT ON ${target} IS ${sql.__dangerous__rawValue(quoteLiteral(text))}`;
}

function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
