import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { exportPKCS8, generateKeyPair } from 'jose';
import { tokenProviderFor } from '../connectors/auth/index.ts';
import { createHttpClient } from '../connectors/http/index.ts';
import { bulkAuth } from '../config/index.ts';
import { startTokenServer } from './helpers/token-server.ts';

const http = createHttpClient();

test('auth type none gives no token provider: requests go without a token', (t) => {
  t.is(
    tokenProviderFor(bulkAuth.parse({ type: 'none' }), 'https://fhir.example.com/r4', { http }),
    undefined,
  );
});

test('a client_credentials config reaches its token URL with the configured method and scope', async (t) => {
  const server = await startTokenServer();
  t.teardown(server.close);
  const auth = bulkAuth.parse({
    type: 'client_credentials',
    tokenUrl: server.tokenUrl,
    clientId: 'etl',
    clientSecret: 's3cret',
    method: 'client_secret_basic',
    scope: 'bulk-data|user/*.rs',
  });

  const provider = tokenProviderFor(auth, 'https://fhir.example.com/r4', { http });

  t.is(await provider?.token(), 'token-1');
  t.deepEqual(server.requests[0]?.basic, { clientId: 'etl', clientSecret: 's3cret' });
  t.is(server.requests[0]?.form.get('scope'), 'bulk-data|user/*.rs');
});

test('a backend_services config without tokenUrl discovers it from the source baseUrl', async (t) => {
  const server = await startTokenServer();
  t.teardown(server.close);
  server.http.route('GET', '/r4/.well-known/smart-configuration', {
    status: 200,
    json: { token_endpoint: server.tokenUrl },
  });
  const dir = await mkdtemp(join(tmpdir(), 'fhir-etl-auth-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const privateKeyFile = join(dir, 'key.pem');
  const { privateKey } = await generateKeyPair('RS384', { extractable: true });
  await writeFile(privateKeyFile, await exportPKCS8(privateKey));
  const auth = bulkAuth.parse({ type: 'backend_services', clientId: 'etl', privateKeyFile, kid: 'k1' });

  const provider = tokenProviderFor(auth, server.http.url('/r4'), { http });

  t.is(await provider?.token(), 'token-1');
  t.is(server.http.requestsTo('/r4/.well-known/smart-configuration').length, 1);
  t.is(server.requests[0]?.form.get('scope'), 'system/*.rs');
});
