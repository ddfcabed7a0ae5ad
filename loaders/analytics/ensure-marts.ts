import { type ConnectionPool, sql } from '@databases/pg';
import type { SqlQueryable } from '../postgres/load-transaction.ts';
import { MartBlockedError } from './errors.ts';
import { ANALYTICS_SCHEMA, type Mart } from './mart.ts';
import { MARTS } from './marts/index.ts';
import { queryRows } from '../postgres/query-rows.ts';

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
 *
 * A mart whose view tables lack a column it reads (the user replaced a shipped view with a
 * narrower one) is skipped, never a failed load: it is left out, with the marts built on it,
 * and returned with PostgreSQL's reason.
 */
export async function ensureMarts(db: ConnectionPool, viewSchema: string): Promise<MartsOutcome> {
  const wanted = await martsToMake(db, viewSchema);
  if (await upToDate(db, wanted)) return { made: [], skipped: [] };
  return db.tx(async (tx) => {
    await tx.query(sql`SELECT pg_advisory_xact_lock(${MARTS_LOCK})`);
    if (await upToDate(tx, wanted)) return { made: [], skipped: [] };
    await dropMarts(tx);
    const outcome: MartsOutcome = { made: [], skipped: [] };
    for (const { mart, statements } of wanted) {
      const missing = (mart.uses ?? []).find((name) => outcome.skipped.some((s) => s.mart === name));
      if (missing !== undefined) {
        outcome.skipped.push({ mart: mart.name, reason: `it reads analytics.${missing}, which was skipped` });
        continue;
      }
      const refused = await createMart(tx, statements);
      if (refused !== undefined) {
        outcome.skipped.push({ mart: mart.name, reason: refused });
        continue;
      }
      await tx.query(sql`
        INSERT INTO fhir_etl.owned_views (view_schema, view_name, create_sql)
        VALUES (${ANALYTICS_SCHEMA}, ${mart.name}, ${statements})
        ON CONFLICT (view_schema, view_name) DO UPDATE SET create_sql = EXCLUDED.create_sql`);
      outcome.made.push(`${ANALYTICS_SCHEMA}.${mart.name}`);
    }
    return outcome;
  });
}

export interface MartsOutcome {
  /** The marts (re)created, schema-qualified. */
  made: string[];
  /** The marts left out because the view tables cannot support them, with why. */
  skipped: SkippedMart[];
}

/** A mart left out: its name (in analytics) and PostgreSQL's reason, or the mart it reads that was left out. */
export interface SkippedMart {
  mart: string;
  reason: string;
}

/** PostgreSQL's codes for a column or table the mart's SELECT names but the view tables lack. */
const MISSING_OBJECT = new Set(['42703', '42P01']);

/** Makes one mart under a savepoint; a missing column or table is its reason, anything else throws. */
async function createMart(tx: SqlQueryable, statements: string): Promise<string | undefined> {
  await tx.query(sql`SAVEPOINT fhir_etl_mart`);
  try {
    await tx.query(sql.__dangerous__rawValue(statements));
    await tx.query(sql`RELEASE SAVEPOINT fhir_etl_mart`);
    return undefined;
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    if (code === undefined || !MISSING_OBJECT.has(code)) throw error;
    await tx.query(sql`ROLLBACK TO SAVEPOINT fhir_etl_mart`);
    return (message ?? code).split('\n')[0];
  }
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
  const rows: Array<{ tablename: string }> = await queryRows(
    db,
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
async function upToDate(db: SqlQueryable, wanted: WantedMart[]): Promise<boolean> {
  const rows: Array<{ view_name: string; create_sql: string | null; present: boolean }> = await queryRows(
    db,
    sql`
    SELECT o.view_name, o.create_sql, to_regclass(format('%I.%I', o.view_schema, o.view_name)) IS NOT NULL AS present
    FROM fhir_etl.owned_views o WHERE o.view_schema = ${ANALYTICS_SCHEMA}`,
  );
  const made = new Map(rows.filter((row) => row.present).map((row) => [row.view_name, row.create_sql]));
  return (
    made.size === wanted.length && wanted.every(({ mart, statements }) => made.get(mart.name) === statements)
  );
}

/** Drops every mart of ours (the last made first); a view of the user's on one stops it, named. */
async function dropMarts(tx: SqlQueryable): Promise<void> {
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
