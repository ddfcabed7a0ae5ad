import { type ConnectionPool, sql } from '@databases/pg';

export interface RunRow {
  id: number;
  command: string;
  source: string;
  status: string;
  started_at: Date;
  ended_at: Date | null;
  files: number;
  files_skipped: number;
  resources: number;
  rejects: number;
  error: string | null;
}

export interface WarehouseStatus {
  runs: RunRow[];
  sources: Array<{ source: string; files: number; resources: number; last_commit: Date | null }>;
  checkpoints: Array<{ source: string; scope: string; value: string; updated_at: Date }>;
  tables: Array<{ table: string; rows: number; estimated: boolean }>;
  rejects: number;
}

/** Above this many rows (by the planner's estimate) a table's count is the estimate, not count(*). */
const EXACT_COUNT_LIMIT = 5_000_000;

/** What `fhir-etl status` shows: recent runs, what each source has committed, and table sizes. */
export async function readStatus(
  db: ConnectionPool,
  options: { runs?: number } = {},
): Promise<WarehouseStatus> {
  const runs: RunRow[] = await db.query(sql`
    SELECT id, command, source, status, started_at, ended_at, files, files_skipped, resources, rejects, error
    FROM fhir_etl.runs ORDER BY id DESC LIMIT ${options.runs ?? 10}`);
  const sources = await db.query(sql`
    SELECT source, count(*)::int AS files, coalesce(sum(resources), 0)::bigint AS resources,
           max(committed_at) AS last_commit
    FROM fhir_etl.files GROUP BY source ORDER BY source`);
  const checkpoints = await db.query(sql`
    SELECT source, scope, value, updated_at FROM fhir_etl.checkpoints ORDER BY source, scope`);
  const [{ rejects }] = await db.query(sql`SELECT count(*)::bigint AS rejects FROM fhir_etl.rejects`);
  return { runs, sources, checkpoints, tables: await tableSizes(db), rejects };
}

async function tableSizes(db: ConnectionPool): Promise<WarehouseStatus['tables']> {
  const tables: Array<{ schema: string; name: string; estimate: number }> = await db.query(sql`
    SELECT n.nspname AS schema, c.relname AS name, greatest(c.reltuples, 0)::bigint AS estimate
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname IN ('fhir_raw', 'fhir')
    ORDER BY n.nspname, c.relname`);
  const sizes: WarehouseStatus['tables'] = [];
  for (const table of tables) {
    const qualified = `${table.schema}.${table.name}`;
    if (table.estimate > EXACT_COUNT_LIMIT) {
      sizes.push({ table: qualified, rows: table.estimate, estimated: true });
      continue;
    }
    const [{ rows }] = await db.query(
      sql`SELECT count(*)::bigint AS rows FROM ${sql.ident(table.schema, table.name)}`,
    );
    sizes.push({ table: qualified, rows, estimated: false });
  }
  return sizes;
}

export interface RejectRow {
  id: number;
  run_id: number;
  source: string;
  file: string;
  line: number | null;
  resource_type: string | null;
  resource_id: string | null;
  reason: string;
  raw: string | null;
}

/** Rejected lines, newest first, optionally of one run. */
export async function listRejects(
  db: ConnectionPool,
  options: { runId?: number | undefined; limit: number },
): Promise<RejectRow[]> {
  const byRun = options.runId === undefined ? sql`true` : sql`run_id = ${options.runId}`;
  return db.query(sql`
    SELECT id, run_id, source, file, line, resource_type, resource_id, reason, raw
    FROM fhir_etl.rejects WHERE ${byRun} ORDER BY id DESC LIMIT ${options.limit}`);
}
