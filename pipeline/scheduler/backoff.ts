/**
 * The waits before each retry of a failed run: `firstDelaySeconds`, then doubling, one per
 * retry (3 retries from 60 s wait 60, 120 and 240 s), so a warehouse or server that is down
 * for a while is not hammered, and one that blipped is retried soon.
 */
export function retryDelays(retries: number, firstDelaySeconds: number): number[] {
  return Array.from({ length: retries }, (_, attempt) => firstDelaySeconds * 2 ** attempt);
}
