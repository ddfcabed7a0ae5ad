import test from 'ava';
import { SourceLockLostError } from '../pipeline/source-lock.ts';
import { whyStopped } from '../pipeline/stop-reason.ts';

test('a run stopped by a lost source lock says so; only a signal is a shutdown', (t) => {
  const lost = new AbortController();
  lost.abort(new SourceLockLostError('payer'));
  t.is(whyStopped(lost.signal), 'the source lock was lost');
  const signalled = new AbortController();
  signalled.abort(new Error('stopped by SIGTERM'));
  t.is(whyStopped(signalled.signal), 'shutdown');
});
