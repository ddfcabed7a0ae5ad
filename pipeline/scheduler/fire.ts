import type { ConnectionPool } from '@databases/pg';
import type { LoadedConfig } from '../../config/index.ts';
import { sleep } from '../../connectors/http/index.ts';
import { errorMessage } from '../../errors/index.ts';
import type { Logger } from '../logger.ts';
import { logProgress } from '../progress.ts';
import { runSources } from '../run.ts';
import { attributeRuns, type RunTrigger } from '../runs.ts';
import { retryDelays } from './backoff.ts';
import { claimFire, type FireOutcome, finishFire, takeSource } from './fire-records.ts';
import type { ScheduledSource } from './scheduled-sources.ts';
import { leadWith, type SourceLock, withSourceLock } from '../source-lock.ts';

/** What every fire of this scheduler shares. */
export interface FireContext {
  db: ConnectionPool;
  config: LoadedConfig;
  logger: Logger;
  /** This process, as recorded in fhir_etl.schedule_fires.replica. */
  replica: string;
  /** Shutdown: no new run or retry starts; the run going on stops between files. */
  signal: AbortSignal;
  /** How often the source lock a fire holds is checked (default every 15 s). */
  sourceLockCheckMs?: number | undefined;
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
  const tally = { attempts: 0 };
  let end: FireEnd = { outcome: 'failed', attempts: 0, error: 'the fire ended without an outcome' };
  try {
    const held = await withSourceLock(
      ctx.db,
      source.name,
      async (lock) => {
        await takeSource(ctx.db, fireId, source.name);
        return runAttempts(ctx, source, fireId, logger, lock, tally);
      },
      { logger, checkEveryMs: ctx.sourceLockCheckMs },
    );
    end = held.acquired
      ? held.value
      : {
          outcome: 'skipped-overlap' as const,
          attempts: 0,
          error: 'the previous run of the source was still going',
        };
  } catch (cause) {
    // Whatever broke (the warehouse, the lock), the fire still gets an outcome.
    end = { outcome: 'failed', attempts: tally.attempts, error: errorMessage(cause) };
  } finally {
    try {
      await finishFire(ctx.db, fireId, end);
    } catch (cause) {
      logger.error(
        { event: 'fire.record_failed', fireId, outcome: end.outcome, error: errorMessage(cause) },
        `could not record fire ${fireAt.toISOString()} as ${end.outcome}: ${errorMessage(cause)}`,
      );
    }
  }
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

/**
 * The fire's run, then a retry after each failure (waits doubling) until one succeeds or none
 * are left. The source lock is checked before each attempt, and watched during it: once it is
 * lost (its connection died), another process may take the source, so the run stops between
 * files and the fire fails saying so, with no retry.
 */
async function runAttempts(
  ctx: FireContext,
  source: ScheduledSource,
  fireId: number,
  logger: Logger,
  lock: SourceLock,
  tally: { attempts: number },
): Promise<FireEnd> {
  const { retries, retryDelaySeconds } = ctx.config.scheduler;
  const delays = retryDelays(retries, retryDelaySeconds);
  const signal = AbortSignal.any([ctx.signal, lock.signal]);
  if (ctx.signal.aborted) return { outcome: 'stopped', attempts: 0, error: 'shutting down' };
  for (let attempt = 1; ; attempt++) {
    const lost = await lockLost(lock, attempt - 1);
    if (lost) return lost;
    tally.attempts = attempt;
    const trigger: RunTrigger = attempt === 1 ? 'schedule' : 'retry';
    const error = await attributeRuns(trigger, fireId, () => runOnce(ctx, source, logger, signal));
    if (error === undefined) return { outcome: 'succeeded', attempts: attempt };
    if (lock.signal.aborted) return lostLock(lock, attempt, error);
    if (ctx.signal.aborted) return { outcome: 'stopped', attempts: attempt, error };
    const delaySeconds = delays[attempt - 1];
    if (delaySeconds === undefined) return { outcome: 'failed', attempts: attempt, error };
    logger.warn(
      { event: 'fire.retry', fireId, attempt, delaySeconds, error },
      `run failed; retry ${attempt} of ${retries} in ${delaySeconds} s`,
    );
    // Waits the delay, or less when the fire is stopped (shutdown, lost lock): true when it all passed.
    const waited = await sleep(delaySeconds * 1000, signal).then(
      () => true,
      () => false,
    );
    if (!waited) {
      if (lock.signal.aborted) return lostLock(lock, attempt, error);
      return { outcome: 'stopped', attempts: attempt, error };
    }
  }
}

/** The fire's end when the lock is no longer held (checked now), else undefined. */
async function lockLost(lock: SourceLock, attempts: number): Promise<FireEnd | undefined> {
  try {
    await lock.verify();
    return undefined;
  } catch {
    return lostLock(lock, attempts, undefined);
  }
}

/** A fire whose lock was lost fails, the loss first in its error, then what the run said. */
function lostLock(lock: SourceLock, attempts: number, runError: string | undefined): FireEnd {
  return { outcome: 'failed', attempts, error: leadWith(errorMessage(lock.signal.reason), runError) };
}

/** One run of the source; the error text when it failed (or never started), else undefined. */
async function runOnce(
  ctx: FireContext,
  source: ScheduledSource,
  logger: Logger,
  signal: AbortSignal,
): Promise<string | undefined> {
  try {
    const [result] = await runSources(ctx.db, ctx.config, {
      sources: [source.name],
      logger: ctx.logger,
      progress: logProgress(logger),
      signal,
      // This fire already holds the source's lock (withSourceLock above), across its retries.
      sourceLock: 'held',
    });
    if (!result) return 'stopped before the run started';
    return result.status === 'succeeded' ? undefined : (result.error ?? 'the run failed');
  } catch (cause) {
    return errorMessage(cause);
  }
}
