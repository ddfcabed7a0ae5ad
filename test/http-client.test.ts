import test from 'ava';
import { createHttpClient, HttpError, HttpNetworkError } from '../connectors/http/index.ts';
import {
  capturingLogger,
  deadlineOnArrival,
  operationOutcome,
  recordingSleep,
  startHttpServer,
} from './helpers/http-server.ts';

const ok = { status: 200, json: { resourceType: 'Bundle' } };

test('a 429 with a Retry-After in seconds waits that many seconds, then returns the success', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/Patient', { status: 429, headers: { 'retry-after': '7' } }, ok);
  const { waits, sleep } = recordingSleep();

  const response = await createHttpClient({ sleep }).request(server.url('/Patient'));

  t.is(response.status, 200);
  t.deepEqual(waits, [7000]);
  t.is(server.requestsTo('/Patient').length, 2);
});

test('a 429 with an HTTP-date Retry-After waits until that date', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  const now = Date.parse('2026-01-01T00:00:00Z');
  server.route(
    'GET',
    '/Patient',
    { status: 429, headers: { 'retry-after': 'Thu, 01 Jan 2026 00:00:42 GMT' } },
    ok,
  );
  const { waits, sleep } = recordingSleep();

  await createHttpClient({ sleep, now: () => now }).request(server.url('/Patient'));

  t.deepEqual(waits, [42_000]);
});

test('a Retry-After that is an epoch timestamp is clamped to maxRetryAfterMs and logged with the URL', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/$export-poll', { status: 429, headers: { 'retry-after': '1767225600' } }, ok);
  const { waits, sleep } = recordingSleep();
  const { logger, lines } = capturingLogger();

  await createHttpClient({ sleep, logger, retry: { maxRetryAfterMs: 60_000 } }).request(
    server.url('/$export-poll'),
  );

  t.deepEqual(waits, [60_000]);
  const warning = lines.find((line) => line.event === 'http.retry_after_clamped');
  t.is(warning?.url, server.url('/$export-poll'));
  t.is(warning?.retryAfter, '1767225600');
});

test('a Retry-After of hours is clamped to maxRetryAfterMs', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/Patient', { status: 429, headers: { 'retry-after': '7200' } }, ok);
  const { waits, sleep } = recordingSleep();

  await createHttpClient({ sleep, retry: { maxRetryAfterMs: 300_000 } }).request(server.url('/Patient'));

  t.deepEqual(waits, [300_000]);
});

test('a 429 without Retry-After backs off within the exponential ceiling', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/Patient', { status: 429 }, { status: 429 }, { status: 429 }, ok);
  const { waits, sleep } = recordingSleep();

  await createHttpClient({ sleep, retry: { baseDelayMs: 100, maxDelayMs: 250 } }).request(
    server.url('/Patient'),
  );

  t.is(waits.length, 3);
  [100, 200, 250].forEach((ceiling, i) =>
    t.true((waits[i] as number) <= ceiling, `wait ${i + 1} within ${ceiling} ms`),
  );
});

test('a 500 whose OperationOutcome says transient is retried, even for a POST', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route(
    'POST',
    '/Group/g1/$export',
    { status: 500, json: operationOutcome('transient', 'database busy') },
    { status: 202, headers: { 'content-location': server.url('/status/1') } },
  );
  const { sleep } = recordingSleep();

  const response = await createHttpClient({ sleep }).request(server.url('/Group/g1/$export'), {
    method: 'POST',
    body: '{"resourceType":"Parameters"}',
  });

  t.is(response.status, 202);
  t.is(server.requestsTo('/Group/g1/$export').length, 2);
});

test("a non-transient 500 on a POST fails at once with the server's diagnostics", async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('POST', '/Group/g1/$export', {
    status: 500,
    json: operationOutcome('exception', 'export of group g1 failed: disk full'),
  });
  const { sleep } = recordingSleep();

  const error = await t.throwsAsync(
    createHttpClient({ sleep }).request(server.url('/Group/g1/$export'), { method: 'POST', body: '{}' }),
    { instanceOf: HttpError },
  );

  t.is(error?.code, 'HTTP_ERROR');
  t.is(error?.status, 500);
  t.regex(error?.message ?? '', /POST http:\/\/127\.0\.0\.1:\d+\/Group\/g1\/\$export answered 500/);
  t.regex(error?.message ?? '', /disk full/);
  t.is(server.requestsTo('/Group/g1/$export').length, 1);
});

test('any 5xx on a GET is retried until maxAttempts, then fails naming the attempts', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/Patient', { status: 502, body: 'Bad Gateway' });
  const { sleep } = recordingSleep();

  const error = await t.throwsAsync(
    createHttpClient({ sleep, retry: { maxAttempts: 3 } }).request(server.url('/Patient')),
    { instanceOf: HttpError },
  );

  t.is(server.requestsTo('/Patient').length, 3);
  t.regex(error?.message ?? '', /after 3 attempts/);
  t.deepEqual(error?.context.attempts, 3);
});

test('retryServerErrors: false fails a GET on its first non-transient 503', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/Patient', { status: 503 });
  const { sleep } = recordingSleep();

  await t.throwsAsync(
    createHttpClient({ sleep }).request(server.url('/Patient'), { retryServerErrors: false }),
    { instanceOf: HttpError },
  );

  t.is(server.requestsTo('/Patient').length, 1);
});

test('a dropped connection is retried', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/Patient', { reset: true }, ok);
  const { waits, sleep } = recordingSleep();

  const response = await createHttpClient({ sleep }).request(server.url('/Patient'));

  t.is(response.status, 200);
  t.is(waits.length, 1);
});

test('response headers that never come count as a network failure and are retried', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/Patient', { hang: true }, ok);
  const { sleep } = recordingSleep();

  const headersDeadline = deadlineOnArrival(server);

  const response = await createHttpClient({ sleep, headersDeadline }).request(server.url('/Patient'));

  t.is(response.status, 200);
  t.is(server.requestsTo('/Patient').length, 2);
});

test('a server that stays unreachable fails with HttpNetworkError after maxAttempts', async (t) => {
  const server = await startHttpServer();
  const url = server.url('/metadata');
  await server.close();
  const { waits, sleep } = recordingSleep();

  const error = await t.throwsAsync(createHttpClient({ sleep, retry: { maxAttempts: 2 } }).request(url), {
    instanceOf: HttpNetworkError,
  });

  t.is(error?.code, 'HTTP_NETWORK_ERROR');
  t.regex(error?.message ?? '', /ECONNREFUSED/);
  t.is(waits.length, 1);
});
