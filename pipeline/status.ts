import { type ConnectionPool, sql } from '@databases/pg';
import type { SourceConfig } from '../config/index.ts';
import { type ExchangeStatus, readExchangeStatus } from './exchange/status.ts';
import { queryRows } from '../loaders/postgres/query-rows.ts';
import { queryRow } from '../loaders/postgres/query-row.ts';

export interface RunRow {
  id: number;
  command: string;
  source: string;
  status: string;
  trigger: string;
  started_at: Date;
  ended_at: Date | null;
  files: number;
  files_skipped: number;
  resources: number;
  bytes: number;
  rejects: number;
  /** Resources per second over the run's wall time (null while it runs). */
  resources_per_second: number | null;
  error: string | null;
}

/** How current a source is: its last run, and how long since one succeeded. */
export interface SourceFreshness {
  source: string;
  /** The cron it runs on under `fhir-etl schedule`, when the config gives one. */
  schedule: string | null;
  last_run: Pick<RunRow, 'id' | 'status' | 'trigger' | 'started_at' | 'ended_at' | 'error'> | null;
  last_success_at: Date | null;
  /** Seconds since the last successful run ended (null: never succeeded). */
  freshness_seconds: number | null;
  running: boolean;
}

export interface MemberLogins {
  by_source: Array<{ source: string; members: number; needing_login: number }>;
  /** Members whose refresh was refused: they must run `fhir-etl auth login` again. */
  needing_login: Array<{
    source: string;
    patient_id: string;
    member_label: string | null;
    login_error: string | null;
  }>;
}

export interface BulkActivity {
  in_progress: Array<{
    source: string;
    state: string;
    transaction_time: string | null;
    started_at: Date;
    error: string | null;
  }>;
  recent_errors: Array<{
    source: string;
    export_id: number;
    resource_type: string | null;
    severity: string | null;
    code: string | null;
    diagnostics: string | null;
    recorded_at: Date;
  }>;
}

export interface WarehouseStatus {
  runs: RunRow[];
  freshness: SourceFreshness[];
  sources: Array<{ source: string; files: number; resources: number; last_commit: Date | null }>;
  checkpoints: Array<{ source: string; scope: string; value: string; updated_at: Date }>;
  tables: Array<{ table: string; rows: number; estimated: boolean; bytes: number }>;
  rejects: number;
  /** Values written NULL because their view column could not hold them (fhir_etl.value_errors). */
  valueErrors: number;
  /** Member logins of REST sources; null when that part of the schema is not installed. */
  members: MemberLogins | null;
  /** Bulk exports going on and recent error-file issues; null when not installed. */
  bulk: BulkActivity | null;
  /** Payer exchanges (CMS-0057-F Payer-to-Payer): member outcomes, last pull, next re-match; null when not installed. */
  exchanges: ExchangeStatus[] | null;
}

/** Above this many rows (by the planner's estimate) a table's count is the estimate, not count(*). */
const EXACT_COUNT_LIMIT = 5_000_000;
const LISTED = 50;

/**
 * What `fhir-etl status` shows: recent runs, how fresh each source is, what each source has
 * committed, checkpoints, table sizes, members who must log in again and bulk exports going on.
 * `sources` are the configured ones, so a source that never ran is listed too.
 */
export async function readStatus(
  db: ConnectionPool,
  options: { runs?: number; sources?: SourceConfig[]; viewSchema?: string } = {},
): Promise<WarehouseStatus> {
  const runs: RunRow[] = await queryRows(
    db,
    sql`
    SELECT id, command, source, status, trigger, started_at, ended_at, files, files_skipped, resources, bytes,
           rejects, round((resources / nullif(extract(epoch FROM ended_at - started_at), 0))::numeric, 1)::float8
             AS resources_per_second,
           error
    FROM fhir_etl.runs ORDER BY id DESC LIMIT ${options.runs ?? 10}`,
  );
  const sources: WarehouseStatus['sources'] = await queryRows(
    db,
    sql`
    SELECT source, count(*)::int AS files, coalesce(sum(resources), 0)::bigint AS resources,
           max(committed_at) AS last_commit
    FROM fhir_etl.files GROUP BY source ORDER BY source`,
  );
  const checkpoints: WarehouseStatus['checkpoints'] = await queryRows(
    db,
    sql`
    SELECT source, scope, value, updated_at FROM fhir_etl.checkpoints ORDER BY source, scope`,
  );
  const { rejects } = await queryRow<{ rejects: number }>(
    db,
    sql`SELECT count(*)::bigint AS rejects FROM fhir_etl.rejects`,
  );
  const { value_errors: valueErrors } = await queryRow<{ value_errors: number }>(
    db,
    sql`SELECT count(*)::bigint AS value_errors FROM fhir_etl.value_errors`,
  );
  return {
    runs,
    freshness: await readFreshness(db, options.sources ?? []),
    sources,
    checkpoints,
    tables: await tableSizes(db, options.viewSchema ?? 'fhir'),
    rejects,
    valueErrors,
    members: (await tableExists(db, 'fhir_etl.members')) ? await readMemberLogins(db) : null,
    bulk:
      (await tableExists(db, 'fhir_etl.bulk_exports')) && (await tableExists(db, 'fhir_etl.bulk_errors'))
        ? await readBulkActivity(db)
        : null,
    exchanges: (await tableExists(db, 'fhir_etl.exchange_members'))
      ? await readExchangeStatus(db, options.sources ?? [])
      : null,
  };
}

async function readFreshness(db: ConnectionPool, configured: SourceConfig[]): Promise<SourceFreshness[]> {
  const rows: Array<{
    source: string;
    id: number;
    status: string;
    trigger: string;
    started_at: Date;
    ended_at: Date | null;
    error: string | null;
    last_success_at: Date | null;
    freshness_seconds: number | null;
    running: boolean;
  }> = await queryRows(
    db,
    sql`
    WITH last_run AS (
      SELECT DISTINCT ON (source) source, id, status, trigger, started_at, ended_at, error
      FROM fhir_etl.runs WHERE status <> 'skipped' ORDER BY source, id DESC
    ), per_source AS (
      SELECT source, max(ended_at) FILTER (WHERE status = 'succeeded') AS last_success_at,
             bool_or(status = 'running') AS running
      FROM fhir_etl.runs GROUP BY source
    )
    SELECT l.*, p.last_success_at, p.running,
           extract(epoch FROM clock_timestamp() - p.last_success_at)::float8 AS freshness_seconds
    FROM last_run l JOIN per_source p USING (source) ORDER BY source`,
  );
  const byName = new Map(rows.map((row) => [row.source, row]));
  const names = [...new Set([...configured.map((s) => s.name), ...byName.keys()])].sort();
  return names.map((source) => {
    const row = byName.get(source);
    return {
      source,
      schedule: configured.find((s) => s.name === source)?.schedule ?? null,
      last_run: row
        ? {
            id: row.id,
            status: row.status,
            trigger: row.trigger,
            started_at: row.started_at,
            ended_at: row.ended_at,
            error: row.error,
          }
        : null,
      last_success_at: row?.last_success_at ?? null,
      freshness_seconds: row?.freshness_seconds ?? null,
      running: row?.running ?? false,
    };
  });
}

async function readMemberLogins(db: ConnectionPool): Promise<MemberLogins> {
  return {
    by_source: await queryRows(
      db,
      sql`
      SELECT source, count(*)::int AS members, (count(*) FILTER (WHERE needs_login))::int AS needing_login
      FROM fhir_etl.members GROUP BY source ORDER BY source`,
    ),
    needing_login: await queryRows(
      db,
      sql`
      SELECT source, patient_id, member_label, login_error FROM fhir_etl.members
      WHERE needs_login ORDER BY source, member_label, patient_id LIMIT ${LISTED}`,
    ),
  };
}

async function readBulkActivity(db: ConnectionPool): Promise<BulkActivity> {
  return {
    in_progress: await queryRows(
      db,
      sql`
      SELECT source, state, transaction_time, started_at, error FROM fhir_etl.bulk_exports
      WHERE state IN ('polling', 'downloading') ORDER BY started_at`,
    ),
    recent_errors: await queryRows(
      db,
      sql`
      SELECT source, export_id, resource_type, severity, code, diagnostics, recorded_at
      FROM fhir_etl.bulk_errors ORDER BY recorded_at DESC LIMIT ${LISTED}`,
    ),
  };
}

/** Tables other migrations add (bulk exports, members) are read only when they are there. */
async function tableExists(db: ConnectionPool, name: string): Promise<boolean> {
  const row = await queryRow<{ present: boolean }>(
    db,
    sql`SELECT to_regclass(${name}) IS NOT NULL AS present`,
  );
  return row.present;
}

async function tableSizes(db: ConnectionPool, viewSchema: string): Promise<WarehouseStatus['tables']> {
  const tables: Array<{ schema: string; name: string; estimate: number; bytes: number }> = await queryRows(
    db,
    sql`
    SELECT n.nspname AS schema, c.relname AS name, greatest(c.reltuples, 0)::bigint AS estimate,
           pg_total_relation_size(c.oid) AS bytes
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND n.nspname IN ('fhir_raw', ${viewSchema})
    ORDER BY n.nspname, c.relname`,
  );
  const sizes: WarehouseStatus['tables'] = [];
  for (const table of tables) {
    const qualified = `${table.schema}.${table.name}`;
    if (table.estimate > EXACT_COUNT_LIMIT) {
      sizes.push({ table: qualified, rows: table.estimate, estimated: true, bytes: table.bytes });
      continue;
    }
    const { rows } = await queryRow<{ rows: number }>(
      db,
      sql`SELECT count(*)::bigint AS rows FROM ${sql.ident(table.schema, table.name)}`,
    );
    sizes.push({ table: qualified, rows, estimated: false, bytes: table.bytes });
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
  return queryRows(
    db,
    sql`
    SELECT id, run_id, source, file, line, resource_type, resource_id, reason, raw
    FROM fhir_etl.rejects WHERE ${byRun} ORDER BY id DESC LIMIT ${options.limit}`,
  );
}
