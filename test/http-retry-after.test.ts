import test from 'ava';
import {
  backoffDelayMs,
  isTransientOutcome,
  operationOutcomeText,
  retryAfterMs,
} from '../connectors/http/index.ts';

const now = Date.parse('2026-01-01T00:00:00Z');

test('Retry-After in seconds is read as milliseconds', (t) => {
  t.is(retryAfterMs('120', now), 120_000);
  t.is(retryAfterMs(' 0 ', now), 0);
});

test('Retry-After as an HTTP-date is the time left until that date, never negative', (t) => {
  t.is(retryAfterMs('Thu, 01 Jan 2026 00:01:30 GMT', now), 90_000);
  t.is(retryAfterMs('Wed, 31 Dec 2025 23:59:00 GMT', now), 0);
});

test('Retry-After as an epoch timestamp is read as seconds, unclamped, for the caller to clamp', (t) => {
  t.is(retryAfterMs('1767225600', now), 1_767_225_600_000);
});

test('an absent or unreadable Retry-After gives undefined, not a wait', (t) => {
  t.is(retryAfterMs(null, now), undefined);
  t.is(retryAfterMs('soon', now), undefined);
  t.is(retryAfterMs('-5', now), undefined);
});

test('operationOutcomeText joins diagnostics, falling back to details.text then the code', (t) => {
  const outcome = {
    resourceType: 'OperationOutcome',
    issue: [
      { severity: 'error', code: 'processing', diagnostics: 'bad _since' },
      { severity: 'error', code: 'invalid', details: { text: 'unknown _type Foo' } },
      { severity: 'error', code: 'exception' },
    ],
  };
  t.is(operationOutcomeText(outcome), 'bad _since; unknown _type Foo; exception');
  t.is(operationOutcomeText(JSON.stringify(outcome)), 'bad _since; unknown _type Foo; exception');
});

test('operationOutcomeText is undefined for anything but an OperationOutcome', (t) => {
  t.is(operationOutcomeText('<html>502 Bad Gateway</html>'), undefined);
  t.is(operationOutcomeText({ resourceType: 'Bundle' }), undefined);
});

test('an OperationOutcome with a transient issue is transient; other codes are not', (t) => {
  t.true(
    isTransientOutcome({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'transient' }],
    }),
  );
  t.false(
    isTransientOutcome({
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'exception' }],
    }),
  );
  t.false(isTransientOutcome('not json'));
});

test('backoff doubles from the base delay up to the cap, drawing below that ceiling', (t) => {
  const policy = { baseDelayMs: 100, maxDelayMs: 1000 };
  t.deepEqual(
    [1, 2, 3, 4, 5, 6].map((attempt) => backoffDelayMs(attempt, policy, () => 1)),
    [100, 200, 400, 800, 1000, 1000],
  );
  t.is(
    backoffDelayMs(3, policy, () => 0.5),
    200,
  );
});
