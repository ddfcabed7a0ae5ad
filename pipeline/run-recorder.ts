import type { ConnectionPool } from '@databases/pg';
import { errorMessage } from '../errors/index.ts';
import type { FileLoadResult } from '../loaders/index.ts';
import { closeAbandonedRuns, finishRun, type RunTotals, startRun } from './runs.ts';

/** What one run of one source did, as the CLI, the scheduler and the metrics see it. */
export interface SourceRunResult extends RunTotals {
  source: string;
  runId: number;
  status: 'succeeded' | 'failed';
  error?: string;
  /** What the run skipped without failing (a refused resource type, a member needing login). */
  warnings?: string[];
  durationMs: number;
}

/** The run being recorded: every committed file is added to its totals as it commits. */
export interface RunRecorder {
  readonly id: number;
  readonly totals: RunTotals;
  /** Counts a file (or page) that committed, or was found already committed. */
  add(result: FileLoadResult): void;
}

/**
 * Runs `work` as one fhir_etl.runs record: started before, finished after with the totals of
 * what committed, failed with the error text when `work` throws. Committed files stay
 * committed when a later one fails: the next run goes on from them.
 */
export async function recordRun(
  db: ConnectionPool,
  identity: { command: string; source: string },
  work: (run: RunRecorder) => Promise<void>,
): Promise<SourceRunResult> {
  await closeAbandonedRuns(db);
  const id = await startRun(db, identity.command, identity.source);
  const started = Date.now();
  const totals: RunTotals = emptyTotals();
  const run: RunRecorder = { id, totals, add: (result) => addResult(totals, result) };
  let error: string | undefined;
  try {
    await work(run);
  } catch (cause) {
    error = errorMessage(cause);
  }
  await finishRun(db, id, totals, error);
  return {
    ...totals,
    source: identity.source,
    runId: id,
    status: error === undefined ? 'succeeded' : 'failed',
    ...(error === undefined ? {} : { error }),
    durationMs: Date.now() - started,
  };
}

export function emptyTotals(): RunTotals {
  return { files: 0, filesSkipped: 0, resources: 0, bytes: 0, rejects: 0, counts: {}, viewCounts: {} };
}

export function addResult(totals: RunTotals, result: FileLoadResult): void {
  if (result.status === 'already-loaded') {
    totals.filesSkipped++;
    return;
  }
  totals.files++;
  totals.resources += result.resources;
  totals.bytes += result.bytes;
  totals.rejects += result.rejects;
  const counts = totals.counts as Record<string, number>;
  for (const [type, c] of Object.entries(result.counts)) counts[type] = (counts[type] ?? 0) + c.resources;
  for (const [view, rows] of Object.entries(result.viewCounts)) {
    totals.viewCounts[view] = (totals.viewCounts[view] ?? 0) + rows;
  }
}
