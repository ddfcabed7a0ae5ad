import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import { checkpoint, createBenchDatabase } from './database.ts';
import type { Dataset } from './dataset.ts';
import { round } from './load.bench.ts';

/** The compiled command, as users run it (`npm run bench` builds it first). */
const BIN = new URL('../dist/bin/fhir-etl.js', import.meta.url).pathname;

/** The network path (download and load) against the disk path (`fhir-etl load`) of the same files. */
export interface NetworkBenchResult {
  resources: number;
  inputBytes: number;
  concurrency: number;
  disk: { wallMs: number; resourcesPerSecond: number };
  network: { wallMs: number; resourcesPerSecond: number };
  /** Network wall time over disk wall time: 1.15 is the target's edge. */
  ratio: number;
  target: number;
  met: boolean;
}

export const NETWORK_TARGET = 1.15;

/**
 * Times the same dataset loaded two ways, each by the CLI in its own process into a fresh
 * database with the shipped views: `fhir-etl load <dir>` from disk, and `fhir-etl run` of a
 * `kind: bulk` source whose manifest lists the very same files on a local node:http server
 * (served as stored, no gzip, so the comparison is the download and protocol path, not
 * compression). Both runs count exactly the dataset's resources, or the bench fails.
 */
export async function benchNetworkLoad(dataset: Dataset, concurrency = 2): Promise<NetworkBenchResult> {
  const disk = await timed(
    'disk',
    (url) => cli(['load', '--concurrency', String(concurrency), dataset.ndjsonDir], url),
    dataset,
  );
  const server = await serveExport(dataset);
  try {
    const config = await bulkConfig(server.url, concurrency);
    const network = await timed('network', (url) => cli(['--config', config, 'run'], url), dataset);
    const ratio = network.wallMs / disk.wallMs;
    return {
      resources: dataset.resources,
      inputBytes: dataset.bytes,
      concurrency,
      disk: {
        wallMs: Math.round(disk.wallMs),
        resourcesPerSecond: Math.round(dataset.resources / (disk.wallMs / 1000)),
      },
      network: {
        wallMs: Math.round(network.wallMs),
        resourcesPerSecond: Math.round(dataset.resources / (network.wallMs / 1000)),
      },
      ratio: round(ratio, 2),
      target: NETWORK_TARGET,
      met: ratio <= NETWORK_TARGET,
    };
  } finally {
    await new Promise((resolve) => server.server.close(resolve));
  }
}

async function timed(
  label: string,
  run: (url: string) => Promise<void>,
  dataset: Dataset,
): Promise<{ wallMs: number }> {
  const database = await createBenchDatabase(`net_${label}`);
  try {
    await checkpoint(database.warehouse.db);
    const started = performance.now();
    await run(database.url);
    const wallMs = performance.now() - started;
    const [row] = await database.warehouse.db.query(
      sql`SELECT coalesce(sum(resources), 0)::int AS n FROM fhir_etl.runs`,
    );
    if (row.n !== dataset.resources)
      throw new Error(`${label} loaded ${row.n} resources, expected ${dataset.resources}`);
    return { wallMs };
  } finally {
    await database.drop();
  }
}

function cli(args: string[], databaseUrl: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, DATABASE_URL: databaseUrl },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`fhir-etl ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`)),
    );
  });
}

/** A Bulk Data server for the dataset: kick-off, an immediately complete status, the files as stored. */
async function serveExport(dataset: Dataset): Promise<{ server: Server; url: string }> {
  let base = '';
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    if (path === '/fhir/$export') {
      res.writeHead(202, { 'content-location': `${base}/status/1` }).end();
    } else if (path === '/status/1' && req.method === 'GET') {
      const output = dataset.files.map((f, i) => ({
        type: f.type,
        url: `${base}/files/${i}`,
        count: f.resources,
      }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          transactionTime: new Date().toISOString(),
          request: `${base}/fhir/$export`,
          requiresAccessToken: false,
          output,
          error: [],
        }),
      );
    } else if (path === '/status/1' && req.method === 'DELETE') {
      res.writeHead(202).end();
    } else if (path.startsWith('/files/')) {
      const file = dataset.files[Number(path.slice('/files/'.length))];
      if (!file) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/fhir+ndjson', 'content-length': String(file.bytes) });
      createReadStream(file.path).pipe(res);
    } else {
      res.writeHead(404).end();
    }
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, url: base };
}

async function bulkConfig(url: string, concurrency: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fhir-etl-bench-network-'));
  const file = join(dir, 'fhir-etl.config.yaml');
  await writeFile(
    file,
    `sources:\n  - name: bench\n    kind: bulk\n    baseUrl: ${url}/fhir\n    export: { concurrency: ${concurrency}, maxPollIntervalSeconds: 1 }\n`,
  );
  return file;
}
