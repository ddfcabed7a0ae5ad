import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConnectionPool, sql } from '@databases/pg';
import { DEFAULT_CLIENTS, type Sandbox } from '../../sandbox/index.ts';
import { type BulkServer, startBulkServer } from './bulk-server.ts';

/** The shared set-up of the Bulk tests: a scripted server per test, its source, and what a run left behind. */

/** A scripted Bulk Data server that closes when the test ends. */
export async function scriptedServer(t: { teardown(fn: () => Promise<void>): void }): Promise<BulkServer> {
  const s = await startBulkServer();
  t.teardown(s.close);
  return s;
}

/** The config entry of a bulk source on a scripted server (no auth), polling fast. */
export function bulkSource(s: BulkServer, name: string, exportConfig: Record<string, unknown> = {}) {
  return {
    name,
    baseUrl: `${s.url}/fhir`,
    export: { maxPollIntervalSeconds: 0.05, ...exportConfig },
    auth: { type: 'none' },
  };
}

/** A 202 to a kick-off, pointing at the status URL of `job`. */
export function kickOffAccepted(s: BulkServer, job = 'job1') {
  return { status: 202, headers: { 'content-location': `${s.url}/status/${job}` } };
}

/** The query of each GET kick-off the server received, in order. */
export function kickOffQueries(s: BulkServer): URLSearchParams[] {
  return s.requests
    .filter((r) => r.method === 'GET' && r.path.includes('$export'))
    .map((r) => new URL(r.path, s.url).searchParams);
}

/** The `_since` of each GET kick-off the server received, in order (null: none sent). */
export function sinces(s: BulkServer): Array<string | null> {
  return kickOffQueries(s).map((query) => query.get('_since'));
}

/** A source's Bulk watermark (the next `_since`), if it has one. */
export async function checkpoint(db: ConnectionPool, source: string): Promise<string | undefined> {
  const [row] = await db.query(
    sql`SELECT value FROM fhir_etl.checkpoints WHERE source = ${source} AND scope = 'bulk:transactionTime'`,
  );
  return row?.value;
}

/** Writes a config file (the lines of its YAML) in a fresh temporary folder; returns its path. */
export async function writeConfigFile(
  prefix: string,
  lines: string[],
  file = 'fhir-etl.config.yaml',
): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), prefix)), file);
  await writeFile(path, [...lines, ''].join('\n'));
  return path;
}

/** The config of `fhir-etl run` for the sandbox's Provider Access export, one file at a time, as source `provider`. */
export function writeSandboxProviderConfig(sandbox: Sandbox, prefix: string): Promise<string> {
  return writeConfigFile(prefix, [
    'sources:',
    '  - name: provider',
    '    kind: bulk',
    `    baseUrl: ${sandbox.providerBaseUrl}`,
    '    export: { concurrency: 1, maxPollIntervalSeconds: 0.05 }',
    '    auth:',
    '      type: client_credentials',
    `      tokenUrl: ${sandbox.tokenUrl}`,
    `      clientId: ${DEFAULT_CLIENTS.provider.clientId}`,
    `      clientSecret: ${DEFAULT_CLIENTS.provider.clientSecret}`,
  ]);
}
