import test from 'ava';
import type { TokenProvider } from '../connectors/auth/token-provider.ts';
import { createHttpClient, HttpAuthError, TokenOriginError } from '../connectors/http/index.ts';
import { startHttpServer } from './helpers/http-server.ts';

/** Hands out token-1, token-2, ...: a new one only after the current one is invalidated. */
function numberedTokens(): TokenProvider & { issued: number; invalidated: string[] } {
  const provider = {
    issued: 1,
    invalidated: [] as string[],
    token: async () => `token-${provider.issued}`,
    invalidate(token: string) {
      provider.invalidated.push(token);
      if (token === `token-${provider.issued}`) provider.issued += 1;
    },
  };
  return provider;
}

test('a 401 invalidates the token and retries once with a fresh one', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/Patient', { status: 401 }, { status: 200, json: {} });
  const provider = numberedTokens();

  const response = await createHttpClient().request(server.url('/Patient'), {
    auth: { provider, allowedOrigins: [server.origin] },
  });

  t.is(response.status, 200);
  t.deepEqual(provider.invalidated, ['token-1']);
  t.deepEqual(
    server.requestsTo('/Patient').map((r) => r.headers.authorization),
    ['Bearer token-1', 'Bearer token-2'],
  );
});

test('a 401 that comes back after the renewal is retried with backoff under the retry budget, each time with a fresh token', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route(
    'GET',
    '/Patient',
    { status: 401 },
    { status: 401 },
    { status: 401 },
    { status: 200, json: {} },
  );
  const provider = numberedTokens();
  const waits: number[] = [];

  const response = await createHttpClient({
    sleep: async (ms) => void waits.push(ms),
  }).request(server.url('/Patient'), { auth: { provider, allowedOrigins: [server.origin] } });

  t.is(response.status, 200);
  t.deepEqual(provider.invalidated, ['token-1', 'token-2', 'token-3']);
  t.deepEqual(
    server.requestsTo('/Patient').map((r) => r.headers.authorization),
    ['Bearer token-1', 'Bearer token-2', 'Bearer token-3', 'Bearer token-4'],
  );
  t.is(waits.length, 2, 'the first renewal goes at once; later ones back off');
});

test('a 401 every time, fresh tokens included, throws HttpAuthError once the retry budget is spent', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/Patient', { status: 401 });

  const error = await t.throwsAsync(
    createHttpClient({ retry: { maxAttempts: 3 }, sleep: async () => undefined }).request(
      server.url('/Patient'),
      { auth: { provider: numberedTokens(), allowedOrigins: [server.origin] } },
    ),
    { instanceOf: HttpAuthError },
  );

  t.is(error?.status, 401);
  t.is(error?.code, 'HTTP_UNAUTHORIZED');
  t.regex(error?.message ?? '', /GET .*\/Patient answered 401.*after 3 attempts.*fresh token was refused/);
  t.is(server.requestsTo('/Patient').length, 4, 'one free renewal, then the 3 attempts of the budget');
});

/** The statuses a Bulk status poll accepts: every error comes back to be read as the job's fate. */
const POLL_ACCEPTS = Array.from({ length: 200 }, (_, i) => 400 + i);

test('a 401 on a request that accepts 401 still renews the token and retries before returning', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/status/1', { status: 401 }, { status: 202, headers: { 'x-progress': '50%' } });
  const provider = numberedTokens();

  const response = await createHttpClient().request(server.url('/status/1'), {
    auth: { provider, allowedOrigins: [server.origin] },
    accept: POLL_ACCEPTS,
  });

  t.is(response.status, 202);
  t.deepEqual(provider.invalidated, ['token-1']);
  t.deepEqual(
    server.requestsTo('/status/1').map((r) => r.headers.authorization),
    ['Bearer token-1', 'Bearer token-2'],
  );
});

test('a 401 on a request that accepts 401 is never returned as the answer: renewals, then HttpAuthError', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/status/1', { status: 401 });
  const provider = numberedTokens();

  const error = await t.throwsAsync(
    createHttpClient({ retry: { maxAttempts: 2 }, sleep: async () => undefined }).request(
      server.url('/status/1'),
      { auth: { provider, allowedOrigins: [server.origin] }, accept: POLL_ACCEPTS },
    ),
    { instanceOf: HttpAuthError },
  );

  t.is(error?.status, 401);
  t.deepEqual(provider.invalidated, ['token-1', 'token-2', 'token-3']);
  t.is(server.requestsTo('/status/1').length, 3);
});

test('an accepted 401 without a token is returned as is: there is nothing to renew', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/status/1', { status: 401 });

  const response = await createHttpClient().request(server.url('/status/1'), { accept: POLL_ACCEPTS });

  t.is(response.status, 401);
  t.is(server.requestsTo('/status/1').length, 1);
});

test('the token is never sent to an origin outside allowedOrigins', async (t) => {
  const fhir = await startHttpServer();
  const foreign = await startHttpServer();
  t.teardown(fhir.close);
  t.teardown(foreign.close);
  let tokensAsked = 0;
  const provider: TokenProvider = {
    token: async () => `token-${++tokensAsked}`,
    invalidate: () => undefined,
  };

  const error = await t.throwsAsync(
    createHttpClient().request(foreign.url('/output/Patient.ndjson'), {
      auth: { provider, allowedOrigins: [fhir.origin] },
    }),
    { instanceOf: TokenOriginError },
  );

  t.is(error?.code, 'TOKEN_ORIGIN_REFUSED');
  t.true(error?.message.includes(new URL(foreign.origin).host));
  t.regex(error?.message ?? '', /token was not sent/);
  t.is(foreign.requests.length, 0);
  t.is(tokensAsked, 0);
});

test('a redirect to a foreign origin fails with TokenOriginError and never carries the token there', async (t) => {
  const fhir = await startHttpServer();
  const foreign = await startHttpServer();
  t.teardown(fhir.close);
  t.teardown(foreign.close);
  foreign.route('GET', '/bucket/Patient.ndjson', { status: 200, body: '{}' });
  fhir.route('GET', '/output/Patient.ndjson', {
    status: 302,
    headers: { location: foreign.url('/bucket/Patient.ndjson') },
  });

  await t.throwsAsync(
    createHttpClient().request(fhir.url('/output/Patient.ndjson'), {
      auth: { provider: numberedTokens(), allowedOrigins: [fhir.origin] },
    }),
    { instanceOf: TokenOriginError, message: /redirect/ },
  );

  t.is(foreign.requests.length, 0);
  t.is(fhir.requestsTo('/output/Patient.ndjson')[0]?.headers.authorization, 'Bearer token-1');
});

test('a redirect within the allowed origins is followed with the token', async (t) => {
  const fhir = await startHttpServer();
  t.teardown(fhir.close);
  fhir.route('GET', '/output/1', { status: 307, headers: { location: '/files/1.ndjson' } });
  fhir.route('GET', '/files/1.ndjson', { status: 200, body: '{"resourceType":"Patient"}\n' });

  const response = await createHttpClient().request(fhir.url('/output/1'), {
    auth: { provider: numberedTokens(), allowedOrigins: [fhir.origin] },
  });

  t.is(await response.text(), '{"resourceType":"Patient"}\n');
  t.is(fhir.requestsTo('/files/1.ndjson')[0]?.headers.authorization, 'Bearer token-1');
});

test('an allowed origin matches whatever its spelling: upper-case host, explicit default port, a path', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/Patient', { status: 200, json: {} });
  const port = new URL(server.origin).port;

  const response = await createHttpClient().request(server.url('/Patient'), {
    auth: {
      provider: numberedTokens(),
      allowedOrigins: [`HTTP://127.0.0.1:${port}/r4`, 'https://other.example:443'],
    },
  });

  t.is(response.status, 200);
});

test('an origin that differs only in port is refused', async (t) => {
  const fhir = await startHttpServer();
  const sameHostOtherPort = await startHttpServer();
  t.teardown(fhir.close);
  t.teardown(sameHostOtherPort.close);

  await t.throwsAsync(
    createHttpClient().request(sameHostOtherPort.url('/Patient'), {
      auth: { provider: numberedTokens(), allowedOrigins: [fhir.origin] },
    }),
    { instanceOf: TokenOriginError },
  );
  t.is(sameHostOtherPort.requests.length, 0);
});
