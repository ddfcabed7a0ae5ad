import { AbortError } from './errors.ts';

/**
 * Waits `ms`, or rejects with an AbortError the moment the signal aborts: a shutdown never
 * sits out a five-minute Retry-After.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** What an aborted operation rejects with: an AbortError whose cause is the reason given to `abort()`. */
export function abortReason(signal: AbortSignal): AbortError {
  return new AbortError(signal.reason);
}
