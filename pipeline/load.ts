import type { ConnectionPool } from '@databases/pg';
import pLimit from 'p-limit';
import { errorMessage } from '../errors/index.ts';
import {
  type FileLoadResult,
  loadFile,
  rawTableRegistry,
  rebuildStaleViewTables,
  type StagedTarget,
  viewTable,
  viewTarget,
} from '../loaders/index.ts';
import { type CompiledView, parseResourceLine, readLines } from '../transforms/index.ts';
import { expandInputs, type InputFile } from './inputs.ts';
import type { ProgressReporter } from './progress.ts';
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
  runId = await startRun(db, 'load', options.source);
  const started = Date.now();
  const rawTables = rawTableRegistry(db);
  const viewTables = (options.views ?? []).map((view) => viewTable(view, options.viewSchema ?? 'fhir'));
  // A view that is new or whose definition changed is rebuilt from fhir_raw before rows are added to it.
  await rebuildStaleViewTables(db, viewTables);
  const targets = (): StagedTarget[] => (viewTables.length > 0 ? [viewTarget(viewTables)] : []);
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
        loadOne(db, input, runId, options, rawTables, targets).then(
          (result): FileOutcome => ({ path: input.path, result }),
          (error: unknown): FileOutcome => ({ path: input.path, error: errorMessage(error) }),
        ),
      ),
    ),
  );
  options.progress?.stop();
  const totals = sumOutcomes(outcomes);
  const failures = outcomes.filter((outcome) => outcome.error !== undefined);
  const error = failures.length > 0 ? failures.map((f) => f.error).join('\n') : undefined;
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
  db: ConnectionPool,
  input: InputFile,
  runId: number,
  options: LoadOptions,
  rawTables: ReturnType<typeof rawTableRegistry>,
  targets: () => StagedTarget[],
): Promise<FileLoadResult> {
  let bytes = 0;
  const stream = input.open();
  options.progress?.fileStarted(input.path);
  try {
    const lines = readLines(stream, {
      maxLineBytes: options.maxLineBytes,
      onBytes: (n) => {
        bytes += n;
        options.progress?.bytes(n);
      },
    });
    const result = await loadFile(
      db,
      { source: options.source, fileKey: input.fileKey, path: input.path, runId },
      parsed(lines),
      { rawTables, targets: targets(), bytesRead: () => bytes },
    );
    if (result.status === 'already-loaded' && input.bytes) options.progress?.bytes(input.bytes - bytes);
    options.progress?.fileDone(input.path, result);
    return result;
  } finally {
    if (stream !== process.stdin) stream.destroy();
  }
}

async function* parsed(lines: AsyncIterable<string>) {
  let line = 0;
  for await (const text of lines) yield parseResourceLine(text, ++line);
}

function sumOutcomes(outcomes: FileOutcome[]): RunTotals {
  const totals: RunTotals & { counts: Record<string, number> } = {
    files: 0,
    filesSkipped: 0,
    resources: 0,
    bytes: 0,
    rejects: 0,
    counts: {},
    viewCounts: {},
  };
  for (const { result } of outcomes) {
    if (!result) continue;
    if (result.status === 'already-loaded') {
      totals.filesSkipped++;
      continue;
    }
    totals.files++;
    totals.resources += result.resources;
    totals.bytes += result.bytes;
    totals.rejects += result.rejects;
    for (const [type, counts] of Object.entries(result.counts)) {
      totals.counts[type] = (totals.counts[type] ?? 0) + counts.resources;
    }
    for (const [view, rows] of Object.entries(result.viewCounts)) {
      totals.viewCounts[view] = (totals.viewCounts[view] ?? 0) + rows;
    }
  }
  return totals;
}
