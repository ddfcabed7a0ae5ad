import { type ConnectionPool, sql, type Transaction } from '@databases/pg';
import { MartBlockedError } from './errors.ts';
import { ANALYTICS_SCHEMA, type Mart } from './mart.ts';
import { MARTS } from './marts/index.ts';

/** Making the marts is one process at a time; loads that find them current take no lock. */
const MARTS_LOCK = 74_110_026;

/**
 * Creates the analytics marts over the view tables of `viewSchema`, or upgrades them when this
 * version defines them differently (or they point at another view schema): called whenever the
 * view tables are set up (every load, run and rebuild), since the tables they read may not
 * exist when migrations run. A mart whose view tables are missing waits for them.
 *
 * Each mart is registered in fhir_etl.owned_views with the statements that make it, so a change
 * to a view table (rebuild, upgrade) recreates it instead of being blocked by it.
 * @returns the marts (re)created by this call
 */
export async function ensureMarts(db: ConnectionPool, viewSchema: string): Promise<string[]> {
  const wanted = await martsToMake(db, viewSchema);
  if (await upToDate(db, wanted)) return [];
  return db.tx(async (tx) => {
    await tx.query(sql`SELECT pg_advisory_xact_lock(${MARTS_LOCK})`);
    if (await upToDate(tx, wanted)) return [];
    await dropMarts(tx);
    for (const { mart, statements } of wanted) {
      await tx.query(sql.__dangerous__rawValue(statements));
      await tx.query(sql`
        INSERT INTO fhir_etl.owned_views (view_schema, view_name, create_sql)
        VALUES (${ANALYTICS_SCHEMA}, ${mart.name}, ${statements})
        ON CONFLICT (view_schema, view_name) DO UPDATE SET create_sql = EXCLUDED.create_sql`);
    }
    return wanted.map(({ mart }) => `${ANALYTICS_SCHEMA}.${mart.name}`);
  });
}

/** The statements that make a mart: the view, its comment and every column's. */
export function martStatements(mart: Mart, viewSchema: string): string {
  const name = `${ANALYTICS_SCHEMA}.${quoteIdent(mart.name)}`;
  return [
    `CREATE OR REPLACE VIEW ${name} AS${mart.select(quoteIdent(viewSchema))}`,
    `COMMENT ON VIEW ${name} IS ${quoteLiteral(`${mart.description} (Built by fhir-etl.)`)}`,
    ...Object.entries(mart.columns).map(
      ([column, meaning]) => `COMMENT ON COLUMN ${name}.${quoteIdent(column)} IS ${quoteLiteral(meaning)}`,
    ),
  ].join(';\n');
}

interface WantedMart {
  mart: Mart;
  statements: string;
}

/** The marts whose view tables (and marts) exist, in creation order. */
async function martsToMake(db: ConnectionPool, viewSchema: string): Promise<WantedMart[]> {
  const rows: Array<{ tablename: string }> = await db.query(
    sql`SELECT tablename FROM pg_tables WHERE schemaname = ${viewSchema}`,
  );
  const tables = new Set(rows.map((row) => row.tablename));
  const made = new Set<string>();
  const wanted: WantedMart[] = [];
  for (const mart of MARTS) {
    if (!mart.reads.every((table) => tables.has(table))) continue;
    if (!(mart.uses ?? []).every((name) => made.has(name))) continue;
    made.add(mart.name);
    wanted.push({ mart, statements: martStatements(mart, viewSchema) });
  }
  return wanted;
}

/** Whether every wanted mart exists as these statements made it, and no other mart of ours does. */
async function upToDate(db: ConnectionPool | Transaction, wanted: WantedMart[]): Promise<boolean> {
  const rows: Array<{ view_name: string; create_sql: string | null; present: boolean }> = await db.query(sql`
    SELECT o.view_name, o.create_sql, to_regclass(format('%I.%I', o.view_schema, o.view_name)) IS NOT NULL AS present
    FROM fhir_etl.owned_views o WHERE o.view_schema = ${ANALYTICS_SCHEMA}`);
  const made = new Map(rows.filter((row) => row.present).map((row) => [row.view_name, row.create_sql]));
  return (
    made.size === wanted.length && wanted.every(({ mart, statements }) => made.get(mart.name) === statements)
  );
}

/** Drops every mart of ours (the last made first); a view of the user's on one stops it, named. */
async function dropMarts(tx: Transaction): Promise<void> {
  for (const mart of [...MARTS].reverse()) {
    try {
      await tx.query(sql`DROP VIEW IF EXISTS ${sql.ident(ANALYTICS_SCHEMA, mart.name)}`);
    } catch (error) {
      const { code, detail } = error as { code?: string; detail?: string };
      if (code === '2BP01')
        throw new MartBlockedError(`${ANALYTICS_SCHEMA}.${mart.name}`, detail ?? '', error);
      throw error;
    }
  }
  await tx.query(
    sql`DELETE FROM fhir_etl.owned_views WHERE view_schema = ${ANALYTICS_SCHEMA} AND NOT (view_name = ANY(${MARTS.map((m) => m.name)}))`,
  );
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
