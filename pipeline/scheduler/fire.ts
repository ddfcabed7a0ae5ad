import type { ConnectionPool } from '@databases/pg';
import type { LoadedConfig } from '../../config/index.ts';
import { errorMessage } from '../../errors/index.ts';
import type { Logger } from '../logger.ts';
import { logProgress } from '../progress.ts';
import { runSources } from '../run.ts';
import { attributeRuns, type RunTrigger } from '../runs.ts';
import { retryDelays, waitUnlessStopped } from './backoff.ts';
import { claimFire, type FireOutcome, finishFire, takeSource } from './fire-records.ts';
import type { ScheduledSource } from './scheduled-sources.ts';
import { withSourceLock } from '../source-lock.ts';

/** What every fire of this scheduler shares. */
export interface FireContext {
  db: ConnectionPool;
  config: LoadedConfig;
  logger: Logger;
  /** This process, as recorded in fhir_etl.schedule_fires.replica. */
  replica: string;
  /** Shutdown: no new run or retry starts; the run going on stops between files. */
  signal: AbortSignal;
}

/** What this replica did with a fire. */
export type FireResult = { outcome: 'taken-elsewhere' } | { outcome: FireOutcome; fireId: number };

/**
 * One scheduled fire of a source, run by whichever replica claims it first: claimed in
 * fhir_etl.schedule_fires, then run under the source's lock with retries, or recorded as
 * skipped-overlap when the source is still running (here or on another replica).
 */
export async function runFire(ctx: FireContext, source: ScheduledSource, fireAt: Date): Promise<FireResult> {
  const logger = ctx.logger.child({ source: source.name });
  const fireId = await claimFire(ctx.db, { source: source.name, fireAt, replica: ctx.replica });
  if (fireId === undefined) {
    logger.info({ event: 'fire.taken-elsewhere', fireAt }, 'fire claimed by another replica');
    return { outcome: 'taken-elsewhere' };
  }
  logger.info({ event: 'fire.claimed', fireId, fireAt }, `fire ${fireAt.toISOString()} claimed`);
  const held = await withSourceLock(ctx.db, source.name, async () => {
    await takeSource(ctx.db, fireId, source.name);
    return runAttempts(ctx, source, fireId, logger);
  });
  const end = held.acquired
    ? held.value
    : {
        outcome: 'skipped-overlap' as const,
        attempts: 0,
        error: 'the previous run of the source was still going',
      };
  await finishFire(ctx.db, fireId, end);
  const level = end.outcome === 'failed' ? 'error' : end.outcome === 'skipped-overlap' ? 'warn' : 'info';
  logger[level](
    { event: 'fire.done', fireId, fireAt, outcome: end.outcome, attempts: end.attempts, error: end.error },
    `fire ${fireAt.toISOString()} ${end.outcome}`,
  );
  return { outcome: end.outcome, fireId };
}

interface FireEnd {
  outcome: FireOutcome;
  attempts: number;
  error?: string | undefined;
}

/** The fire's run, then a retry after each failure (waits doubling) until one succeeds or none are left. */
async function runAttempts(
  ctx: FireContext,
  source: ScheduledSource,
  fireId: number,
  logger: Logger,
): Promise<FireEnd> {
  const { retries, retryDelaySeconds } = ctx.config.scheduler;
  const delays = retryDelays(retries, retryDelaySeconds);
  if (ctx.signal.aborted) return { outcome: 'stopped', attempts: 0, error: 'shutting down' };
  for (let attempt = 1; ; attempt++) {
    const trigger: RunTrigger = attempt === 1 ? 'schedule' : 'retry';
    const error = await attributeRuns(trigger, fireId, () => runOnce(ctx, source, logger));
    if (error === undefined) return { outcome: 'succeeded', attempts: attempt };
    if (ctx.signal.aborted) return { outcome: 'stopped', attempts: attempt, error };
    const delaySeconds = delays[attempt - 1];
    if (delaySeconds === undefined) return { outcome: 'failed', attempts: attempt, error };
    logger.warn(
      { event: 'fire.retry', fireId, attempt, delaySeconds, error },
      `run failed; retry ${attempt} of ${retries} in ${delaySeconds} s`,
    );
    if (!(await waitUnlessStopped(delaySeconds * 1000, ctx.signal)))
      return { outcome: 'stopped', attempts: attempt, error };
  }
}

/** One run of the source; the error text when it failed (or never started), else undefined. */
async function runOnce(
  ctx: FireContext,
  source: ScheduledSource,
  logger: Logger,
): Promise<string | undefined> {
  try {
    const [result] = await runSources(ctx.db, ctx.config, {
      sources: [source.name],
      logger: ctx.logger,
      progress: logProgress(logger),
      signal: ctx.signal,
      // This fire already holds the source's lock (withSourceLock above), across its retries.
      sourceLock: 'held',
    });
    if (!result) return 'stopped before the run started (shutdown)';
    return result.status === 'succeeded' ? undefined : (result.error ?? 'the run failed');
  } catch (cause) {
    return errorMessage(cause);
  }
}
