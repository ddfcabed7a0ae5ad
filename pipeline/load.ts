import type { ConnectionPool } from '@databases/pg';
import pLimit from 'p-limit';
import { errorMessage } from '../errors/index.ts';
import { type FileLoadResult, LoadError } from '../loaders/index.ts';
import type { CompiledView } from '../transforms/index.ts';
import { ingestNdjson, type LoadContext, prepareLoad } from './ingest.ts';
import { expandInputs, type InputFile } from './inputs.ts';
import type { ProgressReporter } from './progress.ts';
import { addResult, emptyTotals } from './run-recorder.ts';
import { closeAbandonedRuns, finishRun, type RunTotals, startRun } from './runs.ts';

export interface LoadOptions {
  paths: string[];
  source: string;
  /** Files loaded at once, each in its own transaction. */
  concurrency: number;
  maxLineBytes: number;
  progress?: ProgressReporter;
  /** The views whose tables are filled beside fhir_raw, in the same transaction as each file. */
  views?: CompiledView[];
  /** The schema of the view tables (default `fhir`). */
  viewSchema?: string;
  /** Stops the load between files: files already started finish (or roll back), no new one starts. */
  signal?: AbortSignal;
  /** The command recorded in fhir_etl.runs (default `load`). */
  command?: string;
}

export interface FileOutcome {
  path: string;
  result?: FileLoadResult;
  error?: string;
}

export interface LoadSummary extends RunTotals {
  runId: number;
  status: 'succeeded' | 'failed';
  durationMs: number;
  files: number;
  outcomes: FileOutcome[];
}

/**
 * `fhir-etl load`: every input file in its own transaction with its checkpoint, several at
 * once. A file that fails rolls back alone; the others still load; the run then fails.
 */
export async function loadPaths(db: ConnectionPool, options: LoadOptions): Promise<LoadSummary> {
  let runId = 0;
  const inputs = await expandInputs(options.paths, () => runId);
  await closeAbandonedRuns(db);
  runId = await startRun(db, options.command ?? 'load', options.source);
  const started = Date.now();
  const ctx = await prepareLoad(db, {
    views: options.views ?? [],
    viewSchema: options.viewSchema,
    maxLineBytes: options.maxLineBytes,
  });
  const limit = pLimit(Math.max(1, options.concurrency));
  options.progress?.start(
    inputs.length,
    inputs.reduce((sum, input) => sum + (input.bytes ?? 0), 0),
  );
  // Largest files first, so the last file to finish is a small one and the connections stay busy.
  const bySize = [...inputs].sort((a, b) => (b.bytes ?? 0) - (a.bytes ?? 0));
  const outcomes: FileOutcome[] = await Promise.all(
    bySize.map((input) =>
      limit(() =>
        loadOne(ctx, input, runId, options).then(
          (result): FileOutcome => ({ path: input.path, result }),
          (error: unknown): FileOutcome => ({ path: input.path, error: errorMessage(error) }),
        ),
      ),
    ),
  );
  options.progress?.stop();
  const totals = sumOutcomes(outcomes);
  const failures = outcomes.filter((outcome) => outcome.error !== undefined);
  const errors = failures.map((f) => f.error as string);
  if (options.signal?.aborted)
    errors.push('stopped before every file was loaded (shutdown); the next run loads the rest');
  const error = errors.length > 0 ? errors.join('\n') : undefined;
  await finishRun(db, runId, totals, error);
  return {
    ...totals,
    runId,
    status: error === undefined ? 'succeeded' : 'failed',
    durationMs: Date.now() - started,
    outcomes,
  };
}

async function loadOne(
  ctx: LoadContext,
  input: InputFile,
  runId: number,
  options: LoadOptions,
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
      if (!reopenable || attempt > TRANSIENT_RETRIES || !isTransient(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt + Math.random() * 200));
    } finally {
      if (stream !== process.stdin) stream.destroy();
    }
  }
}

/** Retries of a file that lost a deadlock or a serialization conflict (it loads once more, or twice). */
const TRANSIENT_RETRIES = 2;

/** A load that failed only because of another transaction: deadlock (40P01) or serialization (40001). */
function isTransient(error: unknown): boolean {
  if (!(error instanceof LoadError)) return false;
  let cause: unknown = error.cause;
  for (let depth = 0; cause !== undefined && cause !== null && depth < 5; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (code === '40P01' || code === '40001') return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}

function sumOutcomes(outcomes: FileOutcome[]): RunTotals {
  const totals = emptyTotals();
  for (const { result } of outcomes) if (result) addResult(totals, result);
  return totals;
}
