/**
 * How long to wait before the next status poll: what the server asked for (Retry-After),
 * else exponential backoff from one second; never longer than the configured cap.
 *
 * @see Bulk Data STU2 export.html#response---in-progress-status ("clients SHOULD follow an
 * exponential backoff approach when polling for status", and honour Retry-After)
 */
export interface PollDelay {
  ms: number;
  /** The server asked for longer than the cap (hours, an epoch timestamp): worth a log line. */
  clamped: boolean;
}

const FIRST_BACKOFF_MS = 1000;

/**
 * @param poll the number of polls answered so far without a result (1 after the first)
 * @param retryAfterMs the server's Retry-After, already parsed (undefined when absent)
 * @param maxMs export.maxPollIntervalSeconds, in milliseconds
 */
export function nextPollDelay(poll: number, retryAfterMs: number | undefined, maxMs: number): PollDelay {
  if (retryAfterMs !== undefined) {
    return retryAfterMs > maxMs ? { ms: maxMs, clamped: true } : { ms: retryAfterMs, clamped: false };
  }
  const backoff = FIRST_BACKOFF_MS * 2 ** Math.min(30, Math.max(0, poll - 1));
  return { ms: Math.min(backoff, maxMs), clamped: false };
}
