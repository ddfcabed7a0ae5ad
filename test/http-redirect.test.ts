import test from 'ava';
import type { TokenProvider } from '../connectors/auth/token-provider.ts';
import { createHttpClient, HttpRedirectError } from '../connectors/http/index.ts';
import { startHttpServer } from './helpers/http-server.ts';

const staticToken: TokenProvider = { token: async () => 'token-1', invalidate: () => undefined };

test('by default a 307 is followed, the body sent again to the Location', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('POST', '/old', { status: 307, headers: { location: '/new' } });
  server.route('POST', '/new', { status: 201 });

  const response = await createHttpClient().request(server.url('/old'), { method: 'POST', body: 'x=1' });

  t.is(response.status, 201);
  t.is(server.requestsTo('/new')[0]?.body, 'x=1');
});

test("redirect: 'manual' returns the 307 to the caller and sends nothing to its Location", async (t) => {
  const server = await startHttpServer();
  const elsewhere = await startHttpServer();
  t.teardown(server.close);
  t.teardown(elsewhere.close);
  server.route('POST', '/token', { status: 307, headers: { location: elsewhere.url('/token') } });

  const response = await createHttpClient().request(server.url('/token'), {
    method: 'POST',
    body: 'client_secret=s3cret',
    redirect: 'manual',
  });

  t.is(response.status, 307);
  t.is(response.headers.get('location'), elsewhere.url('/token'));
  t.is(elsewhere.requests.length, 0);
});

test("redirect: 'manual' with a bearer token returns the 3xx instead of following it", async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/output/1', { status: 302, headers: { location: '/files/1.ndjson' } });

  const response = await createHttpClient().request(server.url('/output/1'), {
    auth: { provider: staticToken, allowedOrigins: [server.origin] },
    redirect: 'manual',
  });

  t.is(response.status, 302);
  t.is(server.requestsTo('/files/1.ndjson').length, 0);
});

test("redirect: 'error' fails with HttpRedirectError naming both URLs, once, following nothing", async (t) => {
  const server = await startHttpServer();
  const elsewhere = await startHttpServer();
  t.teardown(server.close);
  t.teardown(elsewhere.close);
  server.route('POST', '/token', { status: 308, headers: { location: elsewhere.url('/token?code=abc') } });

  const error = await t.throwsAsync(
    createHttpClient().request(server.url('/token'), { method: 'POST', body: 'x=1', redirect: 'error' }),
    { instanceOf: HttpRedirectError },
  );

  t.is(error?.status, 308);
  t.is(error?.code, 'HTTP_UNEXPECTED_REDIRECT');
  t.true(error?.message.includes(server.url('/token')));
  t.true(error?.message.includes(elsewhere.url('/token?code=redacted')));
  t.is(server.requestsTo('/token').length, 1);
  t.is(elsewhere.requests.length, 0);
});
