import { hostname } from 'node:os';
import type { ConnectionPool } from '@databases/pg';
import cron, { type ScheduledTask } from 'node-cron';
import type { LoadedConfig } from '../../config/index.ts';
import { errorMessage } from '../../errors/index.ts';
import type { Logger } from '../logger.ts';
import { type FireContext, runFire } from './fire.ts';
import { fireTime } from './fire-time.ts';
import { type ScheduledSource, scheduledSources } from './scheduled-sources.ts';

export interface SchedulerOptions {
  /** Only these sources (default: every source with a schedule). */
  sources?: string[] | undefined;
  logger: Logger;
  /** Aborting it stops the scheduler: no new fire starts, the runs going on stop between files. */
  signal: AbortSignal;
  /** This process in fhir_etl.schedule_fires (default host:pid). */
  replica?: string | undefined;
}

/**
 * A fire that node-cron sees late (a long GC pause, a busy event loop) is still run when it is
 * less than this late and the next fire has not come yet; node-cron's default is one second.
 */
const LATE_FIRE_TOLERANCE_MS = 5 * 60_000;

/**
 * `fhir-etl schedule`: runs each source on its cron schedule until `signal` aborts, then waits
 * for the fires going on to end (their current files commit or roll back whole).
 *
 * node-cron only tells when a fire is due. Which replica runs it is decided in PostgreSQL
 * (fhir_etl.schedule_fires, see fire.ts), not with node-cron's `distributed` option: its
 * RunCoordinator answers yes or no to a key under a lease that expires, which suits a Redis
 * lock, while we want the claim to be a lasting record in the warehouse (who ran each fire,
 * how it ended, its runs) and its id carried into the runs. node-cron's own `noOverlap` is
 * off for the same reason: an overlapping fire must be claimed and recorded as skipped, which
 * the source's advisory lock decides across replicas.
 */
export async function runScheduler(
  db: ConnectionPool,
  config: LoadedConfig,
  options: SchedulerOptions,
): Promise<void> {
  const sources = scheduledSources(config, options.sources);
  const replica = options.replica ?? `${hostname()}:${process.pid}`;
  const ctx: FireContext = { db, config, logger: options.logger, replica, signal: options.signal };
  const inFlight = new Set<Promise<void>>();
  const track = (fire: Promise<void>) => {
    inFlight.add(fire);
    void fire.finally(() => inFlight.delete(fire));
  };
  const tasks = sources.map((source) =>
    scheduleSource(source, options.logger, (scheduledAt) => {
      if (!options.signal.aborted) track(fireSafely(ctx, source, scheduledAt));
    }),
  );
  options.logger.info(
    {
      event: 'scheduler.started',
      replica,
      sources: sources.map((s, i) => ({
        source: s.name,
        schedule: s.schedule,
        nextFire: tasks[i]?.getNextRun(),
      })),
    },
    `scheduling ${sources.map((s) => `${s.name} (${s.schedule})`).join(', ')} as ${replica}`,
  );
  await stopped(options.signal);
  options.logger.info(
    { event: 'scheduler.stopping', runningFires: inFlight.size },
    'stopping: no new runs; waiting for the runs going on to commit their current files',
  );
  for (const task of tasks) await task.destroy();
  await Promise.allSettled([...inFlight]);
  options.logger.info({ event: 'scheduler.stopped' }, 'scheduler stopped');
}

function scheduleSource(
  source: ScheduledSource,
  logger: Logger,
  onFire: (scheduledAt: Date) => void,
): ScheduledTask {
  const task = cron.schedule(source.schedule, (context) => onFire(context.date), {
    name: `fhir-etl:${source.name}`,
    ...(source.timezone === undefined ? {} : { timezone: source.timezone }),
    missedExecutionTolerance: LATE_FIRE_TOLERANCE_MS,
    logger: cronLogger(logger.child({ source: source.name })),
  });
  task.on('execution:missed', (context) =>
    logger.warn(
      { event: 'fire.missed', source: source.name, fireAt: context.date },
      'a fire was missed (this process was blocked past it); another replica may have run it',
    ),
  );
  return task;
}

/** One fire; a failure to even record it (the warehouse unreachable) is logged, never thrown at node-cron. */
async function fireSafely(ctx: FireContext, source: ScheduledSource, scheduledAt: Date): Promise<void> {
  const fireAt = fireTime(scheduledAt, source.schedule);
  try {
    await runFire(ctx, source, fireAt);
  } catch (error) {
    ctx.logger.error(
      { event: 'fire.error', source: source.name, fireAt, error: errorMessage(error) },
      `fire ${fireAt.toISOString()} could not run: ${errorMessage(error)}`,
    );
  }
}

function stopped(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** node-cron's own warnings as structured lines. */
function cronLogger(logger: Logger) {
  return {
    info: (message: string) => logger.info({ event: 'cron' }, message),
    warn: (message: string) => logger.warn({ event: 'cron' }, message),
    error: (message: string | Error, err?: Error) =>
      logger.error({ event: 'cron', error: errorMessage(err ?? message) }, errorMessage(message)),
    debug: (message: string | Error) => logger.debug({ event: 'cron' }, errorMessage(message)),
  };
}
