import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { type CryptoKey, exportJWK, exportPKCS8, generateKeyPair, importSPKI, jwtVerify } from 'jose';
import { backendServices, PrivateKeyError } from '../connectors/auth/index.ts';
import { createHttpClient } from '../connectors/http/index.ts';
import { startHttpServer } from './helpers/http-server.ts';
import { startTokenServer, type TokenServer } from './helpers/token-server.ts';

const http = createHttpClient();
let keyDir: string;

test.before(async () => {
  keyDir = await mkdtemp(join(tmpdir(), 'fhir-etl-auth-'));
});
test.after.always(async () => {
  await rm(keyDir, { recursive: true, force: true });
});

/** A fresh key pair, its private half written to a file in the given format. */
async function keyFile(algorithm: 'RS384' | 'ES384', format: 'pem' | 'jwks', name: string) {
  const { publicKey, privateKey } = await generateKeyPair(algorithm, { extractable: true });
  const file = join(keyDir, `${name}.${format === 'pem' ? 'pem' : 'json'}`);
  if (format === 'pem') {
    await writeFile(file, await exportPKCS8(privateKey));
  } else {
    const publicJwk = { ...(await exportJWK(publicKey)), kid: 'public-only' };
    const privateJwk = { ...(await exportJWK(privateKey)), kid: `${name}-kid`, alg: algorithm };
    await writeFile(file, JSON.stringify({ keys: [publicJwk, privateJwk] }));
  }
  return { file, publicKey };
}

/** The client assertion of the n-th token request, verified as SMART requires (jwtVerify throws otherwise). */
async function verifiedAssertion(
  t: ExecutionContext,
  server: TokenServer,
  index: number,
  publicKey: CryptoKey,
  algorithm: 'RS384' | 'ES384',
) {
  const form = server.requests[index]?.form;
  t.is(form?.get('client_assertion_type'), 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
  return jwtVerify(form?.get('client_assertion') ?? '', publicKey, {
    algorithms: [algorithm],
    audience: server.tokenUrl,
    issuer: 'etl-client',
    subject: 'etl-client',
    typ: 'JWT',
  });
}

/** A token server closed when the test ends, and the backend-services provider of client etl-client against it. */
async function providerAgainstTokenServer(
  t: ExecutionContext,
  key: { privateKeyFile: string; kid?: string; algorithm: 'RS384' | 'ES384' },
) {
  const server = await startTokenServer();
  t.teardown(server.close);
  const provider = backendServices(
    {
      tokenUrl: server.tokenUrl,
      fhirBaseUrl: server.http.url('/r4'),
      clientId: 'etl-client',
      scope: 'system/*.rs',
      ...key,
    },
    { http },
  );
  return { server, provider };
}

test('an RS384 assertion from a PEM key: kid in the header, iss = sub = client id, aud = token URL, exp within 5 minutes', async (t) => {
  const { file, publicKey } = await keyFile('RS384', 'pem', 'rsa');
  const { server, provider } = await providerAgainstTokenServer(t, {
    privateKeyFile: file,
    kid: 'rsa-kid',
    algorithm: 'RS384',
  });

  t.is(await provider.token(), 'token-1');

  const { payload, protectedHeader } = await verifiedAssertion(t, server, 0, publicKey, 'RS384');
  t.is(protectedHeader.alg, 'RS384');
  t.is(protectedHeader.kid, 'rsa-kid');
  t.true((payload.exp as number) <= Math.floor(Date.now() / 1000) + 300);
  t.is(typeof payload.jti, 'string');
  const form = server.requests[0]?.form;
  t.is(form?.get('grant_type'), 'client_credentials');
  t.is(form?.get('scope'), 'system/*.rs');
  t.false(form?.has('client_secret'));
});

test('an ES384 assertion from a JWKS file uses its only private key and that key’s kid', async (t) => {
  const { file, publicKey } = await keyFile('ES384', 'jwks', 'ec');
  const { server, provider } = await providerAgainstTokenServer(t, {
    privateKeyFile: file,
    algorithm: 'ES384',
  });

  await provider.token();

  const { protectedHeader } = await verifiedAssertion(t, server, 0, publicKey, 'ES384');
  t.is(protectedHeader.alg, 'ES384');
  t.is(protectedHeader.kid, 'ec-kid');
});

test('every token request signs a new assertion with a unique jti', async (t) => {
  const { file, publicKey } = await keyFile('RS384', 'pem', 'rsa-jti');
  const { server, provider } = await providerAgainstTokenServer(t, {
    privateKeyFile: file,
    kid: 'k1',
    algorithm: 'RS384',
  });

  provider.invalidate(await provider.token());
  await provider.token();

  const first = await verifiedAssertion(t, server, 0, publicKey, 'RS384');
  const second = await verifiedAssertion(t, server, 1, publicKey, 'RS384');
  t.not(first.payload.jti, second.payload.jti);
});

test('without a tokenUrl the token endpoint is discovered from .well-known/smart-configuration', async (t) => {
  const server = await startTokenServer();
  const fhir = await startHttpServer();
  t.teardown(server.close);
  t.teardown(fhir.close);
  fhir.route('GET', '/r4/.well-known/smart-configuration', {
    status: 200,
    json: {
      token_endpoint: server.tokenUrl,
      grant_types_supported: ['client_credentials'],
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
    },
  });
  const { file, publicKey } = await keyFile('RS384', 'pem', 'rsa-discovery');
  const provider = backendServices(
    {
      fhirBaseUrl: fhir.url('/r4/'),
      clientId: 'etl-client',
      privateKeyFile: file,
      kid: 'k1',
      algorithm: 'RS384',
      scope: 'system/*.rs',
    },
    { http },
  );

  t.is(await provider.token(), 'token-1');
  await verifiedAssertion(t, server, 0, publicKey, 'RS384');
});

test('a JWKS with several private keys and no configured kid is refused, naming the file', async (t) => {
  const { privateKey: a } = await generateKeyPair('RS384', { extractable: true });
  const { privateKey: b } = await generateKeyPair('RS384', { extractable: true });
  const [jwkA, jwkB] = [await exportJWK(a), await exportJWK(b)];
  const file = join(keyDir, 'two-keys.json');
  await writeFile(
    file,
    JSON.stringify({
      keys: [
        { ...jwkA, kid: 'a' },
        { ...jwkB, kid: 'b' },
      ],
    }),
  );
  const provider = backendServices(
    {
      tokenUrl: 'https://auth.example.com/token',
      fhirBaseUrl: 'https://fhir.example.com/r4',
      clientId: 'etl-client',
      privateKeyFile: file,
      algorithm: 'RS384',
      scope: 'system/*.rs',
    },
    { http },
  );

  const error = await t.throwsAsync(provider.token(), { instanceOf: PrivateKeyError });

  t.is(error?.code, 'PRIVATE_KEY_INVALID');
  t.true(error?.message.includes(file));
  t.regex(error?.message ?? '', /several private keys \(a, b\)/);
  t.false(error?.message.includes(jwkA.d as string));
});

test('a key that does not fit the algorithm is refused before any token request', async (t) => {
  const { file } = await keyFile('ES384', 'pem', 'ec-for-rsa');
  const { server, provider } = await providerAgainstTokenServer(t, {
    privateKeyFile: file,
    kid: 'k1',
    algorithm: 'RS384',
  });

  await t.throwsAsync(provider.token(), { instanceOf: PrivateKeyError, message: /cannot sign RS384/ });
  t.is(server.requests.length, 0);
});

test('a PKCS#1 RSA PEM ("BEGIN RSA PRIVATE KEY") is accepted as well as PKCS#8', async (t) => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const file = join(keyDir, 'pkcs1.pem');
  await writeFile(file, privateKey);
  const { server, provider } = await providerAgainstTokenServer(t, {
    privateKeyFile: file,
    kid: 'k1',
    algorithm: 'RS384',
  });

  await provider.token();

  await verifiedAssertion(t, server, 0, await importSPKI(publicKey, 'RS384'), 'RS384');
});
