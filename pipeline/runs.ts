import { hostname } from 'node:os';
import { type ConnectionPool, sql } from '@databases/pg';

/** What a run did, as recorded in fhir_etl.runs. */
export interface RunTotals {
  files: number;
  filesSkipped: number;
  resources: number;
  bytes: number;
  rejects: number;
  counts: Record<string, unknown>;
  viewCounts: Record<string, number>;
}

/** Records the start of a run and returns its id (the run_id every row it writes carries). */
export async function startRun(db: ConnectionPool, command: string, source: string): Promise<number> {
  const [row] = await db.query(sql`
    INSERT INTO fhir_etl.runs (command, source, host, pid)
    VALUES (${command}, ${source}, ${hostname()}, ${process.pid})
    RETURNING id`);
  return row.id;
}

/** Records the end of a run: succeeded, or failed with the error text. */
export async function finishRun(
  db: ConnectionPool,
  runId: number,
  totals: RunTotals,
  error?: string,
): Promise<void> {
  await db.query(sql`
    UPDATE fhir_etl.runs SET
      status = ${error === undefined ? 'succeeded' : 'failed'},
      ended_at = clock_timestamp(),
      files = ${totals.files}, files_skipped = ${totals.filesSkipped},
      resources = ${totals.resources}, bytes = ${totals.bytes}, rejects = ${totals.rejects},
      counts = ${JSON.stringify(totals.counts)}::jsonb,
      view_counts = ${JSON.stringify(totals.viewCounts)}::jsonb,
      error = ${error ?? null}
    WHERE id = ${runId}`);
}

/**
 * Marks runs left 'running' by a process that no longer exists on this host as failed, so
 * status never shows a crashed run as still going.
 */
export async function closeAbandonedRuns(db: ConnectionPool): Promise<void> {
  const rows: Array<{ id: number; pid: number }> = await db.query(sql`
    SELECT id, pid FROM fhir_etl.runs WHERE status = 'running' AND host = ${hostname()} AND pid <> ${process.pid}`);
  for (const row of rows) {
    if (isAlive(row.pid)) continue;
    await db.query(sql`
      UPDATE fhir_etl.runs SET status = 'failed', ended_at = clock_timestamp(),
        error = 'the process ended without finishing the run (killed or crashed); committed files are kept'
      WHERE id = ${row.id} AND status = 'running'`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
