import type { PollReport } from '../../connectors/bulk/index.ts';

/**
 * The line a person watching a run sees while the server prepares an export: the export's
 * state, the server's own X-Progress, how long this run has waited and when it asks again.
 * For example `provider: export 12 in progress (server: "45% of Patient"), 2m 05s elapsed, next poll in 30s`.
 */
export function describePoll(source: string, exportId: number, poll: PollReport): string {
  const server = poll.progress === undefined ? '' : ` (server: "${poll.progress}")`;
  return (
    `${source}: export ${exportId} ${STATES[poll.state]}${server}, ` +
    `${duration(poll.elapsedMs)} elapsed, next poll in ${duration(poll.nextPollMs)}`
  );
}

const STATES: Record<PollReport['state'], string> = {
  'in-progress': 'in progress',
  throttled: 'polled too often (429)',
  transient: 'status briefly unavailable',
};

/** `45s`, `2m 05s`, `1h 02m`: whole seconds, the two largest units. */
export function duration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (ms > 0 && seconds === 0) return `${(ms / 1000).toFixed(1)}s`;
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}
