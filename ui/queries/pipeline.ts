import { type ConnectionPool, sql } from '@databases/pg';
import { queryRows } from '../../loaders/postgres/query-rows.ts';
import type { RunRow } from '../../pipeline/status.ts';

/**
 * The Pipeline page's reads, all from fhir_etl_status (reader-safe views of fhir_etl): each
 * source's last run and freshness, recent runs for the charts, members who must log in again,
 * and Bulk error-file issues.
 */

export interface SourceHealth {
  source: string;
  last_run_id: number;
  last_status: string;
  last_trigger: string;
  last_started_at: Date;
  last_ended_at: Date | null;
  last_resources: number;
  last_rejects: number;
  last_value_errors: number;
  last_error: string | null;
  last_success_at: Date | null;
  /** Seconds since the last successful run ended (null: never). */
  since_success_seconds: number | null;
  running: boolean;
  bulk_issues: number;
}

export async function sourceHealth(db: ConnectionPool): Promise<SourceHealth[]> {
  return queryRows(
    db,
    sql`
    WITH last_run AS (
      SELECT DISTINCT ON (source) source, id, status, trigger, started_at, ended_at, resources,
             rejects, value_errors, error
      FROM fhir_etl_status.runs WHERE status <> 'skipped' ORDER BY source, id DESC
    ), per_source AS (
      SELECT source, max(ended_at) FILTER (WHERE status = 'succeeded') AS last_success_at,
             bool_or(status = 'running') AS running
      FROM fhir_etl_status.runs GROUP BY source
    ), issues AS (
      SELECT source, count(*)::int AS bulk_issues FROM fhir_etl_status.bulk_errors GROUP BY source
    )
    SELECT l.source, l.id AS last_run_id, l.status AS last_status, l.trigger AS last_trigger,
           l.started_at AS last_started_at, l.ended_at AS last_ended_at,
           l.resources AS last_resources, l.rejects AS last_rejects,
           l.value_errors AS last_value_errors, l.error AS last_error,
           p.last_success_at, p.running,
           extract(epoch FROM clock_timestamp() - p.last_success_at)::float8 AS since_success_seconds,
           coalesce(i.bulk_issues, 0) AS bulk_issues
    FROM last_run l JOIN per_source p USING (source) LEFT JOIN issues i USING (source)
    ORDER BY l.source`,
  );
}

/** A run as the console lists it: the run row's own fields, its value errors and its length. */
export type RunSummary = Pick<
  RunRow,
  | 'id'
  | 'command'
  | 'source'
  | 'status'
  | 'trigger'
  | 'started_at'
  | 'ended_at'
  | 'files'
  | 'resources'
  | 'rejects'
  | 'error'
> & {
  value_errors: number;
  seconds: number | null;
};

/** The latest runs, newest first (the table), or oldest first within the window (the charts). */
export async function recentRuns(db: ConnectionPool, limit = 50): Promise<RunSummary[]> {
  return queryRows(
    db,
    sql`
    SELECT id, command, source, status, trigger, started_at, ended_at, files, resources, rejects,
           value_errors, extract(epoch FROM ended_at - started_at)::float8 AS seconds, error
    FROM fhir_etl_status.runs ORDER BY id DESC LIMIT ${limit}`,
  );
}

export async function membersNeedingLogin(
  db: ConnectionPool,
): Promise<Array<{ source: string; member_id: string | null }>> {
  return queryRows(
    db,
    sql`
    SELECT source, member_id FROM fhir_etl_status.members_needing_login
    ORDER BY source, member_id LIMIT 200`,
  );
}

export interface BulkIssue {
  source: string;
  export_id: number;
  resource_type: string | null;
  severity: string | null;
  code: string | null;
  diagnostics: string | null;
  recorded_at: Date;
}

export async function recentBulkIssues(db: ConnectionPool): Promise<BulkIssue[]> {
  return queryRows(
    db,
    sql`
    SELECT source, export_id, resource_type, severity, code, diagnostics, recorded_at
    FROM fhir_etl_status.bulk_errors ORDER BY recorded_at DESC LIMIT 50`,
  );
}
