import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import test from 'ava';
import { DEFAULT_CLIENTS, startSandbox } from '../sandbox/index.ts';
import { authorize, exchangeCode, memberToken, pkce, postForm, REDIRECT_URI } from './helpers/sandbox.ts';

/** The sandbox's authorization server: SMART discovery, client credentials, private_key_jwt, code + PKCE, refresh. */

let clock = Date.now();
const sandbox = await startSandbox({ retryAfterSeconds: 0, now: () => clock });
test.after.always(() => sandbox.close());

const { provider, payer } = DEFAULT_CLIENTS;
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

test('both FHIR bases publish a SMART configuration with the endpoints, methods and capabilities', async (t) => {
  for (const base of [sandbox.providerBaseUrl, sandbox.payerBaseUrl]) {
    const config = (await (await fetch(`${base}/.well-known/smart-configuration`)).json()) as Record<
      string,
      string[]
    >;
    t.is(config.token_endpoint as unknown as string, sandbox.tokenUrl);
    t.is(config.authorization_endpoint as unknown as string, sandbox.authorizeUrl);
    t.deepEqual(config.token_endpoint_auth_methods_supported, [
      'client_secret_post',
      'client_secret_basic',
      'private_key_jwt',
    ]);
    t.deepEqual(config.token_endpoint_auth_signing_alg_values_supported, ['RS384', 'ES384']);
    t.deepEqual(config.code_challenge_methods_supported, ['S256']);
    for (const capability of [
      'launch-standalone',
      'permission-offline',
      'client-confidential-symmetric',
      'client-confidential-asymmetric',
      'permission-v2',
    ]) {
      t.true(config.capabilities!.includes(capability), capability);
    }
  }
});

test('client_credentials with client_secret_post echoes the opaque 1up scope and lasts 5 minutes', async (t) => {
  const response = await postForm(sandbox.tokenUrl, {
    grant_type: 'client_credentials',
    client_id: provider.clientId,
    client_secret: provider.clientSecret,
    scope: 'bulk-data|user/*.rs',
  });
  t.is(response.status, 200);
  t.is(response.headers.get('cache-control'), 'no-store');
  const body = (await response.json()) as Record<string, unknown>;
  t.is(body.scope, 'bulk-data|user/*.rs');
  t.is(body.token_type, 'Bearer');
  t.is(body.expires_in, 300);
  t.is(body.refresh_token, undefined);
});

test('client_credentials with client_secret_basic works; a wrong secret is invalid_client 401', async (t) => {
  const ok = await postForm(
    sandbox.tokenUrl,
    { grant_type: 'client_credentials', scope: 'system/*.rs' },
    {
      authorization: basic(provider.clientId, provider.clientSecret),
    },
  );
  t.is(ok.status, 200);
  const bad = await postForm(
    sandbox.tokenUrl,
    { grant_type: 'client_credentials' },
    { authorization: basic(provider.clientId, 'nope') },
  );
  t.is(bad.status, 401);
  t.is(((await bad.json()) as { error: string }).error, 'invalid_client');
});

for (const alg of ['RS384', 'ES384'] as const) {
  test(`private_key_jwt with an ${alg} key: accepted once per jti, refused for a wrong audience`, async (t) => {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    const clientId = `backend-${alg}`;
    sandbox.registerClient({
      clientId,
      jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: `${alg}-key`, alg }] },
      grantTypes: ['client_credentials'],
    });
    const assertion = (jti: string, aud = sandbox.tokenUrl) =>
      new SignJWT({})
        .setProtectedHeader({ alg, kid: `${alg}-key`, typ: 'JWT' })
        .setIssuer(clientId)
        .setSubject(clientId)
        .setAudience(aud)
        .setJti(jti)
        .setExpirationTime(Math.floor(clock / 1000) + 240)
        .sign(privateKey);
    const request = async (jwt: string) =>
      postForm(sandbox.tokenUrl, {
        grant_type: 'client_credentials',
        scope: 'system/*.rs',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: jwt,
      });
    const jwt = await assertion(`${alg}-1`);
    t.is((await request(jwt)).status, 200);
    const replay = await request(jwt);
    t.is(replay.status, 401);
    t.regex(((await replay.json()) as { error_description: string }).error_description, /jti/);
    t.is((await request(await assertion(`${alg}-2`, 'https://elsewhere.example/token'))).status, 401);
  });
}

test('a client assertion that expires more than 5 minutes ahead is refused', async (t) => {
  const { publicKey, privateKey } = await generateKeyPair('RS384');
  sandbox.registerClient({
    clientId: 'long-lived',
    jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1' }] },
    grantTypes: ['client_credentials'],
  });
  const jwt = await new SignJWT({})
    .setProtectedHeader({ alg: 'RS384', kid: 'k1' })
    .setIssuer('long-lived')
    .setSubject('long-lived')
    .setAudience(sandbox.tokenUrl)
    .setJti('x')
    .setExpirationTime(Math.floor(clock / 1000) + 3600)
    .sign(privateKey);
  const response = await postForm(sandbox.tokenUrl, {
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: jwt,
  });
  t.is(response.status, 401);
});

test('authorization code + PKCE gives a 2-hour member token with patient and a refresh token', async (t) => {
  const tokens = await memberToken(sandbox, '01-testmemid');
  t.is(tokens.patient, sandbox.members[0]!.patientId);
  t.is(tokens.expires_in, 7200);
  t.truthy(tokens.refresh_token);
});

test('a wrong code_verifier is refused, and the code is then spent', async (t) => {
  const { verifier, challenge } = pkce();
  const code = await authorize(sandbox, '02-testmemid', challenge);
  const wrong = await exchangeCode(sandbox, code, pkce().verifier);
  t.is(wrong.status, 400);
  t.is(((await wrong.json()) as { error: string }).error, 'invalid_grant');
  t.is((await exchangeCode(sandbox, code, verifier)).status, 400);
});

test('a code works once', async (t) => {
  const { verifier, challenge } = pkce();
  const code = await authorize(sandbox, '03-testmemid', challenge);
  t.is((await exchangeCode(sandbox, code, verifier)).status, 200);
  const again = await exchangeCode(sandbox, code, verifier);
  t.is(again.status, 400);
  t.is(((await again.json()) as { error: string }).error, 'invalid_grant');
});

test.serial('a code older than 5 minutes is refused', async (t) => {
  const { verifier, challenge } = pkce();
  const code = await authorize(sandbox, '04-testmemid', challenge);
  clock += 5 * 60 * 1000 + 1;
  const response = await exchangeCode(sandbox, code, verifier);
  t.is(response.status, 400);
  t.regex(((await response.json()) as { error_description: string }).error_description, /expired/);
});

test('a redirect_uri other than the authorize request’s is refused', async (t) => {
  const { verifier, challenge } = pkce();
  const code = await authorize(sandbox, '01-testmemid', challenge);
  const response = await postForm(sandbox.tokenUrl, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: payer.redirectUris[1],
    code_verifier: verifier,
    client_id: payer.clientId,
    client_secret: payer.clientSecret,
  });
  t.is(response.status, 400);
});

test('refresh tokens rotate: the old one is refused after use', async (t) => {
  const first = await memberToken(sandbox, '02-testmemid');
  const refresh = (token: string) =>
    postForm(sandbox.tokenUrl, {
      grant_type: 'refresh_token',
      refresh_token: token,
      client_id: payer.clientId,
      client_secret: payer.clientSecret,
    });
  const rotated = await refresh(first.refresh_token!);
  t.is(rotated.status, 200);
  const second = (await rotated.json()) as { refresh_token: string; access_token: string; patient: string };
  t.not(second.refresh_token, first.refresh_token);
  t.is(second.patient, first.patient);
  const reuse = await refresh(first.refresh_token!);
  t.is(reuse.status, 400);
  t.is(((await reuse.json()) as { error: string }).error, 'invalid_grant');
  t.is((await refresh(second.refresh_token)).status, 200);
});

test('without offline_access no refresh token is issued', async (t) => {
  const { verifier, challenge } = pkce();
  const code = await authorize(sandbox, '01-testmemid', challenge, 'launch/patient patient/*.rs');
  const body = (await (await exchangeCode(sandbox, code, verifier)).json()) as { refresh_token?: string };
  t.is(body.refresh_token, undefined);
});

test('the authorize page lists the four test members; login_hint redirects at once with code and state', async (t) => {
  const url = new URL(sandbox.authorizeUrl);
  const params = {
    response_type: 'code',
    client_id: payer.clientId,
    redirect_uri: REDIRECT_URI,
    scope: 'patient/*.rs',
    state: 'abc',
    aud: sandbox.payerBaseUrl,
    code_challenge: pkce().challenge,
    code_challenge_method: 'S256',
  };
  url.search = new URLSearchParams(params).toString();
  const page = await fetch(url);
  t.is(page.status, 200);
  const html = await page.text();
  for (const name of ['Mayte822 Venegas795', 'Sherie778 Fahey393', 'Delmar187 Tromp100', 'George Bluth'])
    t.true(html.includes(name));
  url.searchParams.set('login_hint', '04-testmemid');
  const chosen = await fetch(url, { redirect: 'manual' });
  t.is(chosen.status, 302);
  const location = new URL(chosen.headers.get('location')!);
  t.is(`${location.origin}${location.pathname}`, REDIRECT_URI);
  t.is(location.searchParams.get('state'), 'abc');
  t.truthy(location.searchParams.get('code'));
});

test('an unregistered redirect_uri is a 400 page, never a redirect; plain PKCE is redirected as an error', async (t) => {
  const url = new URL(sandbox.authorizeUrl);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: payer.clientId,
    redirect_uri: 'http://evil.example/callback',
    code_challenge: 'x',
    code_challenge_method: 'S256',
  }).toString();
  const refused = await fetch(url, { redirect: 'manual' });
  t.is(refused.status, 400);
  t.is(refused.headers.get('location'), null);
  url.searchParams.set('redirect_uri', REDIRECT_URI);
  url.searchParams.set('code_challenge_method', 'plain');
  url.searchParams.set('state', 's1');
  const plain = await fetch(url, { redirect: 'manual' });
  t.is(plain.status, 302);
  const location = new URL(plain.headers.get('location')!);
  t.is(location.searchParams.get('error'), 'invalid_request');
  t.is(location.searchParams.get('state'), 's1');
});
