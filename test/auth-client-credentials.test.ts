import test from 'ava';
import { AuthError, clientCredentials } from '../connectors/auth/index.ts';
import { createHttpClient } from '../connectors/http/index.ts';
import { recordingSleep } from './helpers/http-server.ts';
import { oauthError, startTokenServer } from './helpers/token-server.ts';

const http = createHttpClient();

test('client_secret_post sends the client id and secret in the form body', async (t) => {
  const server = await startTokenServer();
  t.teardown(server.close);
  const provider = clientCredentials(
    { tokenUrl: server.tokenUrl, clientId: 'etl', clientSecret: 's3cret', method: 'client_secret_post' },
    { http },
  );

  t.is(await provider.token(), 'token-1');

  const form = server.requests[0]?.form;
  t.is(form?.get('grant_type'), 'client_credentials');
  t.is(form?.get('client_id'), 'etl');
  t.is(form?.get('client_secret'), 's3cret');
  t.is(server.requests[0]?.headers.authorization, undefined);
});

test('client_secret_basic form-urlencodes the id and secret before the Basic encoding (RFC 6749 2.3.1)', async (t) => {
  const server = await startTokenServer();
  t.teardown(server.close);
  const clientSecret = 'p@ss:w/rd+% é';
  const provider = clientCredentials(
    { tokenUrl: server.tokenUrl, clientId: 'etl client', clientSecret, method: 'client_secret_basic' },
    { http },
  );

  await provider.token();

  const request = server.requests[0];
  t.deepEqual(request?.basic, { clientId: 'etl client', clientSecret });
  const raw = Buffer.from((request?.headers.authorization ?? '').slice(6), 'base64').toString('utf8');
  t.is(raw, 'etl+client:p%40ss%3Aw%2Frd%2B%25+%C3%A9');
  t.false(request?.form.has('client_secret'));
});

test('the scope is sent exactly as configured, even when it is not a SMART scope', async (t) => {
  const server = await startTokenServer();
  t.teardown(server.close);
  const provider = clientCredentials(
    {
      tokenUrl: server.tokenUrl,
      clientId: 'etl',
      clientSecret: 's',
      method: 'client_secret_post',
      scope: 'bulk-data|user/*.rs',
    },
    { http },
  );

  await provider.token();

  t.is(server.requests[0]?.form.get('scope'), 'bulk-data|user/*.rs');
});

test('extraParameters reach the token endpoint, e.g. the member a send token is for', async (t) => {
  const server = await startTokenServer();
  t.teardown(server.close);
  const provider = clientCredentials(
    {
      tokenUrl: server.tokenUrl,
      clientId: 'etl',
      clientSecret: 's',
      method: 'client_secret_post',
      extraParameters: { patient: 'member-42' },
    },
    { http },
  );

  await provider.token();

  t.is(server.requests[0]?.form.get('patient'), 'member-42');
});

test('invalid_client surfaces as AuthError with the token URL and the OAuth error, never the secret', async (t) => {
  const server = await startTokenServer({
    decide: () => oauthError(401, 'invalid_client', 'unknown client'),
  });
  t.teardown(server.close);
  const clientSecret = 'do-not-print-me';
  const provider = clientCredentials(
    { tokenUrl: server.tokenUrl, clientId: 'etl', clientSecret, method: 'client_secret_basic' },
    { http },
  );

  const error = await t.throwsAsync(provider.token(), { instanceOf: AuthError });

  t.is(error?.code, 'AUTH_FAILED');
  t.true(error?.message.includes(server.tokenUrl));
  t.regex(error?.message ?? '', /invalid_client/);
  t.regex(error?.message ?? '', /unknown client/);
  t.false(error?.message.includes(clientSecret));
  t.false(JSON.stringify(error?.context).includes(clientSecret));
  t.deepEqual(error?.context.error, 'invalid_client');
});

test('a 429 from the token endpoint is retried after its Retry-After', async (t) => {
  let calls = 0;
  const server = await startTokenServer({
    decide: () => (++calls === 1 ? { status: 429, headers: { 'retry-after': '3' } } : true),
  });
  t.teardown(server.close);
  const { waits, sleep } = recordingSleep();
  const provider = clientCredentials(
    { tokenUrl: server.tokenUrl, clientId: 'etl', clientSecret: 's', method: 'client_secret_post' },
    { http: createHttpClient({ sleep }) },
  );

  t.is(await provider.token(), 'token-1');
  t.deepEqual(waits, [3000]);
});

test('a 503 from the token endpoint is retried although the token request is a POST', async (t) => {
  let calls = 0;
  const server = await startTokenServer({ decide: () => (++calls === 1 ? { status: 503 } : true) });
  t.teardown(server.close);
  const { sleep } = recordingSleep();
  const provider = clientCredentials(
    { tokenUrl: server.tokenUrl, clientId: 'etl', clientSecret: 's', method: 'client_secret_post' },
    { http: createHttpClient({ sleep }) },
  );

  t.is(await provider.token(), 'token-1');
  t.is(server.requests.length, 2);
});

test('a plain-http token URL is refused unless its host is loopback', async (t) => {
  const provider = clientCredentials(
    {
      tokenUrl: 'http://auth.example.com/token',
      clientId: 'etl',
      clientSecret: 's',
      method: 'client_secret_post',
    },
    { http },
  );

  const error = await t.throwsAsync(provider.token(), { instanceOf: AuthError });

  t.regex(error?.message ?? '', /auth\.example\.com\/token/);
  t.regex(error?.message ?? '', /https/i);
});

test('an unreachable token endpoint fails the FHIR request with AuthError, its retries not multiplied', async (t) => {
  const server = await startTokenServer();
  const tokenUrl = server.tokenUrl;
  await server.close();
  const { waits, sleep } = recordingSleep();
  const client = createHttpClient({ sleep, retry: { maxAttempts: 2 } });
  const provider = clientCredentials(
    { tokenUrl, clientId: 'etl', clientSecret: 's', method: 'client_secret_post' },
    { http: client },
  );

  const error = await t.throwsAsync(
    client.request('http://127.0.0.1:9/Patient', {
      auth: { provider, allowedOrigins: ['http://127.0.0.1:9'] },
    }),
    { instanceOf: AuthError },
  );

  t.regex(error?.message ?? '', /ECONNREFUSED/);
  t.is(waits.length, 1);
});

for (const status of [307, 308]) {
  test(`a ${status} from the token endpoint fails with AuthError naming the token URL, and the secret goes nowhere else`, async (t) => {
    const elsewhere = await startTokenServer();
    t.teardown(elsewhere.close);
    const server = await startTokenServer({
      decide: () => ({ status, headers: { location: elsewhere.tokenUrl } }),
    });
    t.teardown(server.close);
    const provider = clientCredentials(
      { tokenUrl: server.tokenUrl, clientId: 'etl', clientSecret: 's3cret', method: 'client_secret_post' },
      { http },
    );

    const error = await t.throwsAsync(provider.token(), { instanceOf: AuthError });

    t.is(elsewhere.http.requests.length, 0);
    t.is(server.requests.length, 1);
    t.true(error?.message.startsWith(`token endpoint ${server.tokenUrl} answered ${status} redirecting`));
    t.true(error?.message.includes(elsewhere.tokenUrl));
    t.false(error?.message.includes('s3cret'));
    t.is(error?.context.status, status);
  });
}

test('a token request whose answer was lost is sent again: asking for a token changes nothing', async (t) => {
  let calls = 0;
  const server = await startTokenServer({ decide: () => (++calls === 1 ? { reset: true } : true) });
  t.teardown(server.close);
  const { waits, sleep } = recordingSleep();
  const provider = clientCredentials(
    { tokenUrl: server.tokenUrl, clientId: 'etl', clientSecret: 's', method: 'client_secret_post' },
    { http: createHttpClient({ sleep }) },
  );

  t.is(await provider.token(), 'token-1');
  t.is(server.requests.length, 2);
  t.is(waits.length, 1);
});
