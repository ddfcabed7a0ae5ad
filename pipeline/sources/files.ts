import type { FilesSourceConfig } from '../../config/index.ts';
import { expandInputs } from '../inputs.ts';
import { loadInputs } from '../load.ts';
import { recordRun, type SourceRunResult } from '../run-recorder.ts';
import type { SourceRunContext } from './types.ts';

/** Files of a landing folder loaded at once, each in its own transaction (and connection). */
export const FILES_SOURCE_CONCURRENCY = 2;

/**
 * A landing folder of NDJSON files: every file not yet committed under this source is
 * loaded (a file is known by its real path, size and modification time). A folder that
 * cannot be read is a failed run naming it; the next source still runs.
 */
export async function runFilesSource(
  ctx: SourceRunContext,
  source: FilesSourceConfig,
): Promise<SourceRunResult> {
  return recordRun(ctx.load.db, { command: 'run', source: source.name }, async (run) => {
    const inputs = await expandInputs([source.path], () => run.id);
    await loadInputs(ctx.load, run, inputs, {
      source: source.name,
      concurrency: FILES_SOURCE_CONCURRENCY,
      progress: ctx.progress,
      signal: ctx.signal,
    });
  });
}
