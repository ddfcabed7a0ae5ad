import { type ConnectionPool, sql } from '@databases/pg';
import { queryRows } from '../loaders/postgres/query-rows.ts';

/** A row of fhir_etl.value_errors: a value a view column could not hold, written NULL. */
export interface ValueErrorRow {
  id: number;
  run_id: number | null;
  source: string;
  file: string | null;
  line: number | null;
  resource_type: string;
  resource_id: string;
  view_name: string;
  column_name: string;
  value: string;
  reason: string;
}

/** Recorded value errors, newest first, optionally of one run. */
export async function listValueErrors(
  db: ConnectionPool,
  options: { runId?: number | undefined; limit: number },
): Promise<ValueErrorRow[]> {
  const byRun = options.runId === undefined ? sql`true` : sql`run_id = ${options.runId}`;
  return queryRows(
    db,
    sql`
    SELECT id, run_id, source, file, line, resource_type, resource_id, view_name, column_name, value, reason
    FROM fhir_etl.value_errors WHERE ${byRun} ORDER BY id DESC LIMIT ${options.limit}`,
  );
}
