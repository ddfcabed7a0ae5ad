import type { ConnectionPool } from '@databases/pg';
import type { Logger } from 'pino';
import type { LoadedConfig, SourceConfig } from '../config/index.ts';
import { FhirEtlError } from '../errors/index.ts';
import { prepareLoad } from './ingest.ts';
import type { ProgressReporter } from './progress.ts';
import { recordSkippedRun, type SourceRunResult } from './run-recorder.ts';
import { attributeRun, prefixRunError } from './runs.ts';
import { isSourceLockLost, leadWith, withSourceLock } from './source-lock.ts';
import { type RunRequest, runSource } from './sources/index.ts';
import { grantConfiguredReaders } from './readers.ts';
import { configuredViews } from './views.ts';

export interface RunOptions {
  /** Only these sources (default: every configured source). */
  sources?: string[];
  request?: RunRequest;
  logger: Logger;
  progress?: ProgressReporter;
  signal?: AbortSignal;
  /**
   * `take` (default): each source runs under its advisory lock, and a source another process
   * is running (`fhir-etl schedule`, another `run`) is not run twice: it is recorded as a
   * `skipped` run saying so. `held`: the caller (a schedule fire) holds the lock already, and
   * passes its lock's signal in `signal`. Either way a run whose lock is lost mid-way stops
   * between files and is recorded failed with "lost the source lock".
   */
  sourceLock?: 'take' | 'held';
}

/**
 * `fhir-etl run`: each selected source in turn, extracted by its connector and loaded through
 * the shared load path into fhir_raw and the view tables; one fhir_etl.runs record per source.
 * Every line a source's run logs carries its run id, and the trigger: manual, or the
 * schedule fire's when the scheduler called.
 */
export async function runSources(
  db: ConnectionPool,
  config: LoadedConfig,
  options: RunOptions,
): Promise<SourceRunResult[]> {
  const selected = selectSources(config, options.sources);
  const views = await configuredViews(config.views);
  await grantConfiguredReaders(db, config);
  const load = await prepareLoad(db, {
    views,
    viewSchema: config.warehouse.schema,
    maxRejects: config.load.maxRejects,
  });
  if (load.keptViews.length > 0) {
    options.logger.info(
      { event: 'run.kept_views', views: load.keptViews },
      `also filling ${load.keptViews.join(', ')} from the definitions the warehouse keeps (their folders are not in the config's views)`,
    );
  }
  if (load.skippedMarts.length > 0) {
    options.logger.warn(
      { event: 'run.marts_skipped', marts: load.skippedMarts },
      `analytics marts left out, the view tables lacking what they read: ${load.skippedMarts.map((m) => `${m.mart} (${m.reason})`).join('; ')}`,
    );
  }
  const results: SourceRunResult[] = [];
  for (const source of selected) {
    if (options.signal?.aborted) break;
    const logger = options.logger.child({ source: source.name });
    // Each source's run in its own attribution: its log lines carry its runId (and trigger).
    const runOne = (signal: AbortSignal | undefined) =>
      attributeRun(async () => {
        const run = await runSource(
          {
            load,
            config,
            logger,
            request: options.request ?? {},
            progress: options.progress,
            signal,
          },
          source,
        );
        const ignored = ignoredRequest(source, options.request);
        for (const warning of ignored) logger.warn({ event: 'run.ignored' }, warning);
        const done = withWarnings(await explainLostLock(db, run, signal), ignored);
        logger.info({ event: 'run.done', runId: done.runId, status: done.status }, `run ${done.status}`);
        return done;
      });
    if (options.sourceLock === 'held') {
      results.push(await runOne(options.signal));
      continue;
    }
    const locked = await withSourceLock(
      db,
      source.name,
      (lock) => runOne(options.signal ? AbortSignal.any([options.signal, lock.signal]) : lock.signal),
      { logger },
    );
    results.push(locked.acquired ? locked.value : await recordBusySource(db, source.name, logger));
  }
  return results;
}

/**
 * A run stopped because its source lock was lost fails first of all for that reason (the
 * loader only sees a stop): its record and result say so.
 */
async function explainLostLock(
  db: ConnectionPool,
  run: SourceRunResult,
  signal: AbortSignal | undefined,
): Promise<SourceRunResult> {
  if (run.status !== 'failed' || !signal?.aborted || !isSourceLockLost(signal.reason)) return run;
  const lost = signal.reason.message;
  await prefixRunError(db, run.runId, lost);
  return { ...run, error: leadWith(lost, run.error) };
}

/**
 * What the run asked for that a source of this kind cannot do: said, never silently dropped.
 * `--since` / `--until` are Bulk Data `_since` / `_until`; a REST source reads from each
 * member's cursor (`--full-refresh` ignores it); a landing folder loads every file not yet loaded.
 */
export function ignoredRequest(source: SourceConfig, request: RunRequest | undefined): string[] {
  if (!request || source.kind === 'bulk') return [];
  const ignored = [
    request.since === undefined ? undefined : '--since',
    request.until === undefined ? undefined : '--until',
    source.kind === 'files' && request.fullRefresh ? '--full-refresh' : undefined,
  ].filter((flag): flag is string => flag !== undefined);
  return ignored.length === 0
    ? []
    : [
        `${ignored.join(', ')} ignored: a ${source.kind} source does not support ${ignored.length > 1 ? 'them' : 'it'}`,
      ];
}

function withWarnings(result: SourceRunResult, warnings: string[]): SourceRunResult {
  return warnings.length === 0 ? result : { ...result, warnings: [...(result.warnings ?? []), ...warnings] };
}

/**
 * Two runs of one source at once would kick off two exports, or race over one member's paging
 * state and token rotation: the second is not run, and recorded `skipped` so `status` shows
 * why. Skipped is no failure: the other process is loading the source.
 */
async function recordBusySource(
  db: ConnectionPool,
  source: string,
  logger: Logger,
): Promise<SourceRunResult> {
  const busy = new SourceBusyError(source);
  logger.warn({ event: 'run.source_busy' }, busy.message);
  return recordSkippedRun(db, { command: 'run', source }, busy.message);
}

/** The sources named (all when none is), refusing a name the config does not have. */
export function selectSources(config: LoadedConfig, names: string[] | undefined): SourceConfig[] {
  if (!names || names.length === 0) return config.sources;
  const unknown = names.filter((name) => !config.sources.some((s) => s.name === name));
  if (unknown.length > 0) {
    const known = config.sources.map((s) => s.name).join(', ') || 'none';
    throw new UnknownSourceError(unknown, known, config.file);
  }
  return config.sources.filter((s) => names.includes(s.name));
}

export class UnknownSourceError extends FhirEtlError {
  constructor(unknown: string[], known: string, file: string | undefined) {
    super(`no source named ${unknown.join(', ')} in ${file ?? 'the config'} (configured: ${known})`, {
      code: 'UNKNOWN_SOURCE',
      context: { unknown, file },
      kind: 'input',
    });
  }
}

export class SourceBusyError extends FhirEtlError {
  constructor(source: string) {
    super(
      `source ${source} is already being run by another process (fhir-etl schedule or another run); not run twice at once`,
      { code: 'SOURCE_BUSY', context: { source }, kind: 'skipped' },
    );
  }
}
