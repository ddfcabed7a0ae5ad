import { createTask } from 'node-cron';

/**
 * How a source stands against its schedule. A scheduled source is late when its last success
 * is older than two periods of its cron (one fire missed, whatever the time of day); a source
 * without a schedule is only run by hand, so it cannot be late.
 */
export type Freshness = 'ok' | 'late' | 'never succeeded' | 'manual';

export function freshness(schedule: string | undefined, sinceSuccessSeconds: number | null): Freshness {
  if (sinceSuccessSeconds === null) return 'never succeeded';
  if (!schedule) return 'manual';
  const period = schedulePeriodSeconds(schedule);
  if (period === null) return 'manual';
  return sinceSuccessSeconds > 2 * period ? 'late' : 'ok';
}

/** Seconds between the next two fires of a cron expression (null when it never fires twice). */
export function schedulePeriodSeconds(schedule: string): number | null {
  const task = createTask(schedule, () => undefined);
  try {
    const [first, second] = task.getNextRuns(2);
    return first && second ? (second.getTime() - first.getTime()) / 1000 : null;
  } finally {
    void task.destroy();
  }
}
