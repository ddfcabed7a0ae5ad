/**
 * The waits before each retry of a failed run: `firstDelaySeconds`, then doubling, one per
 * retry (3 retries from 60 s wait 60, 120 and 240 s), so a warehouse or server that is down
 * for a while is not hammered, and one that blipped is retried soon.
 */
export function retryDelays(retries: number, firstDelaySeconds: number): number[] {
  return Array.from({ length: retries }, (_, attempt) => firstDelaySeconds * 2 ** attempt);
}

/** Waits `ms`, or less when `signal` aborts first; true when the whole wait passed. */
export function waitUnlessStopped(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const stop = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stop);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', stop, { once: true });
  });
}
