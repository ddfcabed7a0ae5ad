import type { FilesSourceConfig } from '../../config/index.ts';
import { loadPaths } from '../load.ts';
import type { SourceRunResult } from '../run-recorder.ts';
import type { SourceRunContext } from './types.ts';

/**
 * A landing folder of NDJSON files: every file not yet committed under this source is
 * loaded (a file is known by its real path, size and modification time).
 */
export async function runFilesSource(
  ctx: SourceRunContext,
  source: FilesSourceConfig,
): Promise<SourceRunResult> {
  const summary = await loadPaths(ctx.load.db, {
    paths: [source.path],
    source: source.name,
    command: 'run',
    concurrency: 2,
    maxLineBytes: ctx.load.maxLineBytes,
    views: ctx.load.viewTables.map((table) => table.view),
    viewSchema: ctx.load.viewTables[0]?.schema,
    progress: ctx.progress,
    signal: ctx.signal,
  });
  const { outcomes: _outcomes, ...totals } = summary;
  const failures = summary.outcomes.filter((o) => o.error !== undefined);
  return {
    ...totals,
    source: source.name,
    ...(summary.status === 'failed' ? { error: failures.map((f) => f.error).join('\n') || 'stopped' } : {}),
  };
}
