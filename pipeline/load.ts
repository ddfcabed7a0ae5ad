import type { ConnectionPool } from '@databases/pg';
import pLimit from 'p-limit';
import { backoffDelayMs, sleep } from '../connectors/http/index.ts';
import { errorMessage, FhirEtlError } from '../errors/index.ts';
import {
  type FileLoadResult,
  isRetryableLoad,
  type SkippedMart,
  type WarehouseFault,
  warehouseFault,
  warehouseIdentity,
} from '../loaders/index.ts';
import type { CompiledView } from '../transforms/index.ts';
import { ingestNdjson, type LoadContext, prepareLoad } from './ingest.ts';
import { expandInputs, type InputFile } from './inputs.ts';
import type { ProgressReporter } from './progress.ts';
import { recordRun, type RunRecorder, type SourceRunResult } from './run-recorder.ts';
import type { RunTotals } from './runs.ts';
import { whyStopped } from './stop-reason.ts';

export interface LoadOptions {
  paths: string[];
  source: string;
  /** Files loaded at once, each in its own transaction. */
  concurrency: number;
  maxLineBytes: number;
  /** `--max-rejects`: a file with more rejects and value errors is rolled back and the load fails. */
  maxRejects?: number | undefined;
  progress?: ProgressReporter;
  /** The views whose tables are filled beside fhir_raw, in the same transaction as each file. */
  views?: CompiledView[];
  /** The schema of the view tables (default `fhir`). */
  viewSchema?: string;
  /** `--no-views`: fill no view table; refused when the warehouse has some (they would go stale). */
  noViews?: boolean;
  /** Stops the load between files: files already started finish (or roll back), no new one starts. */
  signal?: AbortSignal;
  /** The command recorded in fhir_etl.runs (default `load`). */
  command?: string;
  /** How long the run's end waits for a warehouse that stopped answering (RecordRunOptions). */
  warehouseRetryMs?: number;
  /** Told when the run's end waits for the warehouse. */
  onWarehouseWait?: (message: string) => void;
}

/** What {@link loadInputs} needs beyond the prepared load and the run. */
export type LoadInputsOptions = Pick<LoadOptions, 'source' | 'concurrency' | 'progress' | 'signal'>;

export interface FileOutcome {
  path: string;
  result?: FileLoadResult;
  error?: string;
  /** Not started: the load was stopped (a shutdown, a lost source lock, the warehouse failing). */
  notStarted?: true;
}

export interface LoadSummary extends RunTotals {
  runId: number;
  status: SourceRunResult['status'];
  durationMs: number;
  files: number;
  outcomes: FileOutcome[];
  /** Views filled from the warehouse's stored definitions, their folders not given (`schema.name`). */
  keptViews: string[];
  /** Analytics marts left out, the view tables lacking what they read (see LoadContext). */
  skippedMarts: SkippedMart[];
  /** Why the warehouse failed the load (gone, or its disk full), summed up in one line. */
  warehouseFailure?: string;
}

/**
 * A load in which a file failed (rolled back alone, the others committed) or that a shutdown
 * stopped before every file was loaded: its message, one line per failure, is the run's error.
 */
export class FilesLoadError extends FhirEtlError {
  readonly outcomes: FileOutcome[];
  /** Set when the warehouse failed the load (gone, or its disk full): the message sums it up. */
  readonly warehouseFault: WarehouseFault | undefined;

  constructor(errors: string[], outcomes: FileOutcome[], warehouseFault?: WarehouseFault) {
    super(errors.join('\n'), {
      code: warehouseFault ? 'WAREHOUSE_FAILED_LOAD' : 'FILES_FAILED',
      context: { files: outcomes.filter((o) => o.error !== undefined).map((o) => o.path) },
    });
    this.outcomes = outcomes;
    this.warehouseFault = warehouseFault;
  }
}

/**
 * `fhir-etl load`: every input file in its own transaction with its checkpoint, several at
 * once, recorded as one run. A file that fails rolls back alone; the others still load; the
 * run then fails. A path that cannot be read fails before any run is recorded.
 */
export async function loadPaths(db: ConnectionPool, options: LoadOptions): Promise<LoadSummary> {
  let runId = 0;
  const inputs = await expandInputs(options.paths, () => runId);
  const ctx = await prepareLoad(db, {
    views: options.views ?? [],
    viewSchema: options.viewSchema,
    noViews: options.noViews ?? false,
    maxLineBytes: options.maxLineBytes,
    maxRejects: options.maxRejects,
  });
  let outcomes: FileOutcome[] = [];
  let warehouseFailure: string | undefined;
  let unexpected: { error: unknown } | undefined;
  const recorded = await recordRun(
    db,
    { command: options.command ?? 'load', source: options.source },
    async (run) => {
      runId = run.id;
      try {
        outcomes = await loadInputs(ctx, run, inputs, options);
      } catch (error) {
        if (error instanceof FilesLoadError) {
          outcomes = error.outcomes;
          if (error.warehouseFault) warehouseFailure = error.message;
        } else unexpected = { error };
        throw error;
      }
    },
    { warehouseRetryMs: options.warehouseRetryMs, onWarehouseWait: options.onWarehouseWait },
  );
  // Recorded as failed; anything but a file's failure is the caller's to see, as before.
  if (unexpected) throw unexpected.error;
  const { source: _source, error: _error, ...totals } = recorded;
  return {
    ...totals,
    outcomes,
    keptViews: ctx.keptViews,
    skippedMarts: ctx.skippedMarts,
    ...(warehouseFailure === undefined ? {} : { warehouseFailure }),
  };
}

/**
 * Loads `inputs` into the prepared load as part of `run`: each file in its own transaction
 * with its checkpoint, `concurrency` at once, largest first; every file that commits (or is
 * found committed) is added to the run as it does. A file that fails rolls back alone and the
 * others still load; then this throws a {@link FilesLoadError} naming each failed file. A
 * stop (`signal`) lets the files in flight finish and starts no other.
 */
export async function loadInputs(
  ctx: LoadContext,
  run: RunRecorder,
  inputs: InputFile[],
  options: LoadInputsOptions,
): Promise<FileOutcome[]> {
  const limit = pLimit(Math.max(1, options.concurrency));
  options.progress?.start(
    inputs.length,
    inputs.reduce((sum, input) => sum + (input.bytes ?? 0), 0),
  );
  // The warehouse failing the run (gone, or its disk full) stops it starting files: every
  // further file would fail the same way.
  const warehouseFailed = new AbortController();
  let fault: WarehouseFault | undefined;
  const signal = options.signal
    ? AbortSignal.any([options.signal, warehouseFailed.signal])
    : warehouseFailed.signal;
  // Largest files first, so the last file to finish is a small one and the connections stay busy.
  const bySize = [...inputs].sort((a, b) => (b.bytes ?? 0) - (a.bytes ?? 0));
  const outcomes: FileOutcome[] = await Promise.all(
    bySize.map((input) =>
      limit(async (): Promise<FileOutcome> => {
        if (signal.aborted) return { path: input.path, notStarted: true };
        try {
          const result = await loadOne(ctx, input, run.id, { ...options, signal });
          run.add(result);
          return { path: input.path, result };
        } catch (error) {
          if (!warehouseFailed.signal.aborted) {
            const found = await warehouseFault(ctx.db, error);
            if (found && !warehouseFailed.signal.aborted) {
              fault = found;
              warehouseFailed.abort();
            }
          }
          return { path: input.path, error: errorMessage(error) };
        }
      }),
    ),
  );
  options.progress?.stop();
  if (fault) throw new FilesLoadError([describeWarehouseFault(ctx.db, fault, outcomes)], outcomes, fault);
  const errors = outcomes.flatMap((outcome) => (outcome.error === undefined ? [] : [outcome.error]));
  if (options.signal?.aborted) {
    errors.push(
      `stopped before every file was loaded (${whyStopped(options.signal)}); the next run loads the rest`,
    );
  }
  if (errors.length > 0) throw new FilesLoadError(errors, outcomes);
  return outcomes;
}

/**
 * One summary for a load the warehouse failed, instead of a line per file: which server, what
 * it said, and what committed.
 */
function describeWarehouseFault(db: ConnectionPool, fault: WarehouseFault, outcomes: FileOutcome[]): string {
  const identity = warehouseIdentity(db);
  const server = identity?.displayUrl ?? 'the warehouse';
  const count = (test: (o: FileOutcome) => boolean) => outcomes.filter(test).length;
  const committed = count((o) => o.result?.status === 'loaded');
  const skipped = count((o) => o.result?.status === 'already-loaded');
  const what =
    `${committed} of ${outcomes.length} files committed${skipped > 0 ? ` (${skipped} more were loaded before)` : ''}, ` +
    `${count((o) => o.error !== undefined)} rolled back, ${count((o) => o.notStarted === true)} not started`;
  return fault.kind === 'disk-full'
    ? `the warehouse ${server} ran out of disk space${identity?.dataDir ? ` on the disk holding ${identity.dataDir}` : ''} ` +
        `(${fault.reason}): ${what}; free space on that disk and run the same command again: committed files are skipped`
    : `the warehouse ${server} stopped answering (${fault.reason}): ${what}; ` +
        'run the same command again once it is back: committed files are skipped';
}

async function loadOne(
  ctx: LoadContext,
  input: InputFile,
  runId: number,
  options: LoadInputsOptions,
): Promise<FileLoadResult> {
  // Bytes already shown as read: a retried file only moves the progress past them.
  let shown = 0;
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    const stream = input.open();
    const reopenable = stream !== process.stdin;
    if (attempt === 1) options.progress?.fileStarted(input.path);
    try {
      let bytes = 0;
      const result = await ingestNdjson(
        ctx,
        { source: options.source, fileKey: input.fileKey, path: input.path, runId },
        stream,
        {
          onBytes: (n) => {
            bytes += n;
            if (bytes > shown) {
              options.progress?.bytes(bytes - shown);
              shown = bytes;
            }
          },
        },
      );
      if (result.status === 'already-loaded' && input.bytes) options.progress?.bytes(input.bytes - shown);
      options.progress?.fileDone(input.path, result);
      return result;
    } catch (error) {
      // The file's transaction rolled back as a whole: a file on disk is simply read again.
      if (!reopenable || attempt > TRANSIENT_RETRIES || !isRetryableLoad(error, 'local file')) throw error;
      // A shutdown during the wait fails the file now (nothing of it is committed).
      await sleep(backoffDelayMs(attempt, RETRY_BACKOFF), options.signal);
    } finally {
      if (stream !== process.stdin) stream.destroy();
    }
  }
}

/** Retries of a file that lost a deadlock or a serialization conflict (it loads once more, or twice). */
const TRANSIENT_RETRIES = 2;

/** The wait before a retry: jittered, up to 200 ms before the first, 400 ms before the second. */
const RETRY_BACKOFF = { baseDelayMs: 200, maxDelayMs: 1_000 };
