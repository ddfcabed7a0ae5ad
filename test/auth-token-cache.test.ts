import test from 'ava';
import { AuthError, clientCredentials } from '../connectors/auth/index.ts';
import { createHttpClient } from '../connectors/http/index.ts';
import { oauthError, startTokenServer, type TokenServer } from './helpers/token-server.ts';

/** A client-credentials provider against `server` whose clock the test moves. */
function providerWithClock(server: TokenServer) {
  const clock = { now: 1_000_000 };
  const provider = clientCredentials(
    { tokenUrl: server.tokenUrl, clientId: 'etl', clientSecret: 's', method: 'client_secret_post' },
    { http: createHttpClient(), now: () => clock.now },
  );
  return { provider, clock };
}

test('the token is reused, then renewed once less than 30 seconds of it remain', async (t) => {
  const server = await startTokenServer({ expiresIn: 300 });
  t.teardown(server.close);
  const { provider, clock } = providerWithClock(server);
  const issuedAt = clock.now;

  t.is(await provider.token(), 'token-1');
  clock.now = issuedAt + 269_000;
  t.is(await provider.token(), 'token-1');
  clock.now = issuedAt + 271_000;
  t.is(await provider.token(), 'token-2');
  t.is(server.requests.length, 2);
});

test('a long-lived token is renewed once less than 10% of its lifetime remains', async (t) => {
  const server = await startTokenServer({ expiresIn: 3600 });
  t.teardown(server.close);
  const { provider, clock } = providerWithClock(server);
  const issuedAt = clock.now;

  await provider.token();
  clock.now = issuedAt + 3_239_000;
  t.is(await provider.token(), 'token-1');
  clock.now = issuedAt + 3_241_000;
  t.is(await provider.token(), 'token-2');
});

test('invalidate forces a renewal only when the refused token is still the cached one', async (t) => {
  const server = await startTokenServer();
  t.teardown(server.close);
  const { provider } = providerWithClock(server);

  await provider.token();
  provider.invalidate('token-from-an-earlier-renewal');
  t.is(await provider.token(), 'token-1');
  provider.invalidate('token-1');
  t.is(await provider.token(), 'token-2');
});

test('concurrent callers share one token request', async (t) => {
  const server = await startTokenServer();
  t.teardown(server.close);
  const { provider } = providerWithClock(server);

  const tokens = await Promise.all(Array.from({ length: 10 }, () => provider.token()));

  t.deepEqual(new Set(tokens), new Set(['token-1']));
  t.is(server.requests.length, 1);
});

test('a failed token request is not cached: the next call asks again', async (t) => {
  let calls = 0;
  const server = await startTokenServer({
    decide: () => (++calls === 1 ? oauthError(400, 'temporarily_unavailable', 'try again') : true),
  });
  t.teardown(server.close);
  const { provider } = providerWithClock(server);

  await t.throwsAsync(provider.token(), { instanceOf: AuthError });
  t.is(await provider.token(), 'token-1');
});

test('a token without expires_in is renewed after the 5 minutes SMART recommends at most', async (t) => {
  const server = await startTokenServer({ expiresIn: null });
  t.teardown(server.close);
  const { provider, clock } = providerWithClock(server);
  const issuedAt = clock.now;

  await provider.token();
  clock.now = issuedAt + 269_000;
  t.is(await provider.token(), 'token-1');
  clock.now = issuedAt + 271_000;
  t.is(await provider.token(), 'token-2');
});
