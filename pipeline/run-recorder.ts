import type { ConnectionPool } from '@databases/pg';
import { backoffDelayMs, sleep } from '../connectors/http/index.ts';
import { errorMessage, FhirEtlError } from '../errors/index.ts';
import { type FileLoadResult, warehouseFault, warehouseIdentity } from '../loaders/index.ts';
import { keepRunError, recordKeptRunErrors } from './kept-run-errors.ts';
import { closeAbandonedRuns, finishRun, type RunTotals, skipRun, startRun } from './runs.ts';

/** What one run of one source did, as the CLI, the scheduler and the metrics see it. */
export interface SourceRunResult extends RunTotals {
  source: string;
  runId: number;
  /** skipped: not run at all, on purpose (another process is running the source); `error` says why. */
  status: 'succeeded' | 'failed' | 'skipped';
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

export interface RecordRunOptions {
  /**
   * How long to keep trying to record the run's end while the warehouse does not answer
   * (default WAREHOUSE_RETRY_MS). Past it, the error is kept under the home folder for the
   * next run to record, and the run throws WarehouseUnreachableError.
   */
  warehouseRetryMs?: number;
  /** Told once when the run's end waits for the warehouse to come back. */
  onWarehouseWait?: (message: string) => void;
}

/** A minute: a restart or a failover comes back within it; an outage does not. */
export const WAREHOUSE_RETRY_MS = 60_000;

/**
 * Runs `work` as one fhir_etl.runs record: started before, finished after with the totals of
 * what committed, failed with the error text when `work` throws. Committed files stay
 * committed when a later one fails: the next run goes on from them. When the warehouse stops
 * answering, the run's end is retried until it comes back (within `warehouseRetryMs`), else
 * kept locally for the next run to record (keepRunError).
 */
export async function recordRun(
  db: ConnectionPool,
  identity: { command: string; source: string },
  work: (run: RunRecorder) => Promise<void>,
  options: RecordRunOptions = {},
): Promise<SourceRunResult> {
  await recordKeptRunErrors(db);
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
  await finishRunOnceReachable(db, id, totals, error, options);
  return {
    ...totals,
    source: identity.source,
    runId: id,
    status: error === undefined ? 'succeeded' : 'failed',
    ...(error === undefined ? {} : { error }),
    durationMs: Date.now() - started,
  };
}

/** Records a run of `identity` that was not run, and why (`skipped`, not a failure). */
export async function recordSkippedRun(
  db: ConnectionPool,
  identity: { command: string; source: string },
  reason: string,
): Promise<SourceRunResult> {
  const started = Date.now();
  const id = await startRun(db, identity.command, identity.source);
  await skipRun(db, id, reason);
  return {
    ...emptyTotals(),
    source: identity.source,
    runId: id,
    status: 'skipped',
    error: reason,
    durationMs: Date.now() - started,
  };
}

export function emptyTotals(): RunTotals {
  return {
    files: 0,
    filesSkipped: 0,
    lines: 0,
    resources: 0,
    inserted: 0,
    updated: 0,
    bytes: 0,
    rejects: 0,
    counts: {},
    viewCounts: {},
  };
}

export function addResult(totals: RunTotals, result: FileLoadResult): void {
  if (result.status === 'already-loaded') {
    totals.filesSkipped++;
    return;
  }
  totals.files++;
  totals.lines += result.lines;
  totals.resources += result.resources;
  for (const c of Object.values(result.counts)) {
    totals.inserted += c.inserted;
    totals.updated += c.updated;
  }
  totals.bytes += result.bytes;
  totals.rejects += result.rejects;
  if (result.valueErrors) totals.valueErrors = (totals.valueErrors ?? 0) + result.valueErrors;
  const counts = totals.counts as Record<string, number>;
  for (const [type, c] of Object.entries(result.counts)) counts[type] = (counts[type] ?? 0) + c.resources;
  for (const [view, rows] of Object.entries(result.viewCounts)) {
    totals.viewCounts[view] = (totals.viewCounts[view] ?? 0) + rows;
  }
}

/**
 * finishRun, retried while the warehouse does not answer (or has no room to write), with a
 * growing pause, for up to `warehouseRetryMs`. Past that, the error is kept locally and the
 * run fails with WarehouseUnreachableError, naming the server.
 */
async function finishRunOnceReachable(
  db: ConnectionPool,
  runId: number,
  totals: RunTotals,
  error: string | undefined,
  options: RecordRunOptions,
): Promise<void> {
  const budget = options.warehouseRetryMs ?? WAREHOUSE_RETRY_MS;
  const deadline = Date.now() + budget;
  for (let attempt = 1; ; attempt++) {
    try {
      await finishRun(db, runId, totals, error);
      return;
    } catch (cause) {
      const fault = await warehouseFault(db, cause);
      if (!fault) throw cause;
      const server = warehouseIdentity(db)?.displayUrl ?? 'the warehouse';
      if (Date.now() >= deadline) {
        const kept = await keepRunError(
          db,
          runId,
          error ?? 'the run ended while the warehouse was unreachable',
        );
        throw new WarehouseUnreachableError({ server, runId, reason: fault.reason, error, budget, kept });
      }
      if (attempt === 1) {
        options.onWarehouseWait?.(
          `the warehouse ${server} does not answer (${fault.reason}); waiting up to ${Math.round(budget / 1000)} s for it to record run ${runId}'s end`,
        );
      }
      await sleep(Math.min(budget, backoffDelayMs(attempt, FINISH_BACKOFF)));
    }
  }
}

/** Pauses between tries to record a run's end: 0.5 s, then doubling up to 5 s, jittered. */
const FINISH_BACKOFF = { baseDelayMs: 500, maxDelayMs: 5_000 };

/**
 * The warehouse stopped answering and did not come back to record the run's end: its row
 * still says `running`; the next run from this home records the error kept for it.
 */
export class WarehouseUnreachableError extends FhirEtlError {
  constructor(details: {
    server: string;
    runId: number;
    reason: string;
    error: string | undefined;
    budget: number;
    kept: boolean;
  }) {
    const what = details.error ?? `the warehouse ${details.server} stopped answering (${details.reason})`;
    super(
      `${what}\nrun ${details.runId} could not be recorded as failed: the warehouse ${details.server} ` +
        `did not answer for ${Math.round(details.budget / 1000)} s (${details.reason}); ` +
        (details.kept
          ? 'its error is kept under the home folder, and the next run records it'
          : 'the next run records it as ended without finishing'),
      {
        code: 'WAREHOUSE_UNREACHABLE',
        context: { server: details.server, runId: details.runId },
      },
    );
  }
}
