import type { RetryPolicy } from './types.ts';

/**
 * The wait before retry number `attempt` (1 for the first retry) when the server gave no
 * Retry-After: exponential backoff with full jitter, capped. Full jitter (a uniform draw
 * between 0 and the exponential ceiling) keeps many workers that failed together from
 * retrying together.
 *
 * @see https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export function backoffDelayMs(
  attempt: number,
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(random() * ceiling);
}
