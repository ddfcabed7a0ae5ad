import { type ConnectionPool, sql } from '@databases/pg';
import type { RunSummary } from './pipeline.ts';
import { queryRows } from '../../loaders/postgres/query-rows.ts';

/** A run's page: the run, the files it committed, and its rejected lines (never their raw text). */

export interface RunFile {
  file_key: string;
  path: string;
  lines: number;
  resources: number;
  rejects: number;
  bytes: number;
  counts: Record<string, { resources?: number; inserted?: number; updated?: number }>;
  committed_at: Date;
}

export interface RunReject {
  file: string;
  line: number | null;
  resource_type: string | null;
  resource_id: string | null;
  reason: string;
}

export interface RunValueError {
  file: string | null;
  line: number | null;
  resource_type: string;
  resource_id: string;
  view_name: string;
  column_name: string;
  reason: string;
}

export interface RunDetail {
  run: RunSummary & { files_skipped: number; bytes: number; view_counts: Record<string, number> };
  files: RunFile[];
  rejects: RunReject[];
  valueErrors: RunValueError[];
}

export async function runDetail(db: ConnectionPool, id: number): Promise<RunDetail | null> {
  const [run]: Array<RunDetail['run']> = await queryRows(
    db,
    sql`
    SELECT id, command, source, status, trigger, started_at, ended_at, files, files_skipped,
           resources, bytes, rejects, value_errors, view_counts,
           extract(epoch FROM ended_at - started_at)::float8 AS seconds, error
    FROM fhir_etl_status.runs WHERE id = ${id}`,
  );
  if (!run) return null;
  const files: RunFile[] = await queryRows(
    db,
    sql`
    SELECT file_key, path, lines, resources, rejects, bytes, counts, committed_at
    FROM fhir_etl_status.files WHERE run_id = ${id} ORDER BY committed_at, file_key`,
  );
  const rejects: RunReject[] = await queryRows(
    db,
    sql`
    SELECT file, line, resource_type, resource_id, reason
    FROM fhir_etl_status.rejects WHERE run_id = ${id} ORDER BY id LIMIT 500`,
  );
  const valueErrors: RunValueError[] = await queryRows(
    db,
    sql`
    SELECT file, line, resource_type, resource_id, view_name, column_name, reason
    FROM fhir_etl_status.value_errors WHERE run_id = ${id} ORDER BY id LIMIT 500`,
  );
  return { run, files, rejects, valueErrors };
}
