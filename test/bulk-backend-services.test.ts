import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import test, { type ExecutionContext } from 'ava';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { type Sandbox, type SandboxClient, startSandbox } from '../sandbox/index.ts';
import { runCli } from './helpers/cli.ts';
import { createTestWarehouse, type TestWarehouse } from './helpers/warehouse.ts';

/**
 * SMART Backend Services end to end: `fhir-etl run` of a bulk source that authenticates with
 * a signed client assertion (private_key_jwt), against the sandbox holding only the public JWKS.
 *
 * @see SMART App Launch 2.2.0 backend-services.html
 */

type Algorithm = 'ES384' | 'RS384';

interface ClientKeys {
  client: SandboxClient;
  kid: string;
  /** The private key as PKCS#8 PEM, and as a JWKS (public and private JWK). */
  pemFile: string;
  jwksFile: string;
}

let warehouse: TestWarehouse;
let dir: string;
const keys = new Map<Algorithm, ClientKeys>();

test.before(async () => {
  warehouse = await createTestWarehouse();
  dir = await mkdtemp(join(tmpdir(), 'fhir-etl-backend-services-'));
  for (const algorithm of ['ES384', 'RS384'] as const) keys.set(algorithm, await clientKeys(algorithm));
});
test.after.always(async () => {
  await warehouse?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A fresh key pair: the private half in files beside the config, the public half registered with the sandbox. */
async function clientKeys(algorithm: Algorithm): Promise<ClientKeys> {
  const { publicKey, privateKey } = await generateKeyPair(algorithm, { extractable: true });
  const kid = `fhir-etl-${algorithm.toLowerCase()}`;
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: algorithm, use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: algorithm };
  const pemFile = `${kid}.private.pem`;
  const jwksFile = `${kid}.private.json`;
  await writeFile(join(dir, pemFile), await exportPKCS8(privateKey), { mode: 0o600 });
  await writeFile(join(dir, jwksFile), JSON.stringify({ keys: [publicJwk, privateJwk] }), { mode: 0o600 });
  return {
    client: {
      clientId: kid,
      jwks: { keys: [publicJwk] },
      grantTypes: ['client_credentials'],
    },
    kid,
    pemFile,
    jwksFile,
  };
}

async function sandboxWith(t: ExecutionContext, client: SandboxClient): Promise<Sandbox> {
  const sandbox = await startSandbox({ patients: 6, retryAfterSeconds: 0, clients: [client] });
  t.teardown(() => sandbox.close());
  return sandbox;
}

/** Writes the config of one bulk source and runs `fhir-etl --json run` on it. */
async function runSource(name: string, baseUrl: string, auth: Record<string, string>) {
  const config = join(dir, `${name}.yaml`);
  const authLines = Object.entries(auth).map(([key, value]) => `      ${key}: ${value}`);
  const text = [
    'sources:',
    `  - name: ${name}`,
    '    kind: bulk',
    `    baseUrl: ${baseUrl}`,
    '    export: { maxPollIntervalSeconds: 0.05 }',
    '    auth:',
    '      type: backend_services',
    ...authLines,
    '',
  ].join('\n');
  await writeFile(config, text);
  const result = await runCli(['--config', config, '--json', 'run'], { databaseUrl: warehouse.url });
  return { result, config: await readFile(config, 'utf8') };
}

/** Patients the export's manifest listed, and those that landed in fhir_raw. */
async function patientCounts(source: string): Promise<{ manifest: number; loaded: number }> {
  const [listed] = await warehouse.db.query(sql`
    SELECT sum(f.count)::int AS n FROM fhir_etl.bulk_files f JOIN fhir_etl.bulk_exports e ON e.id = f.export_id
    WHERE e.source = ${source} AND f.kind = 'output' AND f.resource_type = 'Patient'`);
  const [loaded] = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir_raw.patient WHERE source = ${source} AND NOT deleted`,
  );
  return { manifest: listed.n, loaded: loaded.n };
}

/** The sandbox authenticated the client by its assertion: the client has no secret, and no Basic header was sent. */
function assertTokenByPrivateKeyJwt(t: ExecutionContext, sandbox: Sandbox, config: string) {
  const tokenRequests = sandbox.requests.filter((r) => r.method === 'POST' && r.url === sandbox.tokenUrl);
  t.true(tokenRequests.length > 0, 'a token was requested');
  t.true(
    tokenRequests.every((r) => r.status === 200 && r.authorization === undefined),
    'every token request succeeded without an Authorization header',
  );
  t.notRegex(config, /secret/i);
  const exportRequests = sandbox.requests.filter((r) => r.url.startsWith(sandbox.providerBaseUrl));
  t.true(exportRequests.some((r) => r.url.includes('$export') && r.status === 202));
  t.true(
    exportRequests
      .filter((r) => !r.url.includes('/.well-known/'))
      .every((r) => r.authorization?.startsWith('Bearer ')),
    'the kick-off and status polls carry the issued token',
  );
}

test('an ES384 PEM key with a configured tokenUrl: fhir-etl run gets its token by private_key_jwt and loads the export', async (t) => {
  const es = keys.get('ES384') as ClientKeys;
  const sandbox = await sandboxWith(t, es.client);

  const { result, config } = await runSource('backend-es384', sandbox.providerBaseUrl, {
    tokenUrl: sandbox.tokenUrl,
    clientId: es.client.clientId,
    privateKeyFile: es.pemFile,
    kid: es.kid,
    algorithm: 'ES384',
  });

  t.is(result.code, 0, result.stderr);
  const counts = await patientCounts('backend-es384');
  t.true(counts.manifest > 0);
  t.is(counts.loaded, counts.manifest);
  assertTokenByPrivateKeyJwt(t, sandbox, config);
  t.false(sandbox.requests.some((r) => r.url.includes('/.well-known/smart-configuration')));
});

test('an RS384 JWKS key with no tokenUrl: the token endpoint is discovered from .well-known/smart-configuration', async (t) => {
  const rs = keys.get('RS384') as ClientKeys;
  const sandbox = await sandboxWith(t, rs.client);

  const { result, config } = await runSource('backend-rs384', sandbox.providerBaseUrl, {
    clientId: rs.client.clientId,
    privateKeyFile: rs.jwksFile,
    algorithm: 'RS384',
  });

  t.is(result.code, 0, result.stderr);
  const counts = await patientCounts('backend-rs384');
  t.true(counts.manifest > 0);
  t.is(counts.loaded, counts.manifest);
  t.true(
    sandbox.requests.some(
      (r) =>
        r.method === 'GET' &&
        r.url === `${sandbox.providerBaseUrl}/.well-known/smart-configuration` &&
        r.status === 200,
    ),
  );
  assertTokenByPrivateKeyJwt(t, sandbox, config);
});
