import { isSourceLockLost } from './source-lock.ts';

/**
 * Why a run was told to stop between files, in its messages: the operator's signal (shutdown:
 * SIGTERM, Ctrl-C), or the source lock found lost, which is no shutdown at all.
 */
export function whyStopped(signal: AbortSignal | undefined): string {
  return isSourceLockLost(signal?.reason) ? 'the source lock was lost' : 'shutdown';
}
