export { retryDelays } from './backoff.ts';
export { type FireOutcome } from './fire-records.ts';
export { fireTime } from './fire-time.ts';
export { type ScheduledSource, scheduledSources } from './scheduled-sources.ts';
export { runScheduler, type SchedulerOptions } from './scheduler.ts';
export { stopOnSignals, type Shutdown } from './shutdown.ts';
