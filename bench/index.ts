import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { renderTable } from '../bin/table.ts';
import { dataRoot, prepareBigFile, prepareDataset } from './dataset.ts';
import { benchRawLoad, type LoadBenchResult, round } from './load.bench.ts';
import { benchExchange, type ExchangeBenchResult } from './exchange.bench.ts';
import { benchBigFile, type MemoryBenchResult } from './memory.bench.ts';
import { benchNetworkLoad, type NetworkBenchResult } from './network.bench.ts';
import { benchStartup, type StartupCase } from './startup.bench.ts';
import { benchTransforms } from './transforms.bench.ts';
import { benchViewsLoad } from './views.bench.ts';
import { benchMarts, type MartBenchResult } from './marts.bench.ts';

/**
 * `npm run bench`: command start-up times, the transforms bench, raw landing and raw + views loads against their psql
 * \copy ceilings, and (BENCH_BIG=1) the peak RSS of a ~1 GB file. Prints a table and writes
 * bench/.data/results.json.
 *
 * Environment: DATABASE_URL (else the embedded server), FHIR_ETL_FIXTURES, BENCH_RESOURCES
 * (default 300000), BENCH_CONCURRENCY (2), BENCH_BIG=1, BENCH_BIG_BYTES (1 GiB),
 * BENCH_ONLY=startup,transforms,raw,views,network,exchange,marts,big (default all but big), BENCH_KEEP=1
 * (keep databases), BENCH_EXCHANGE_MEMBERS (default 10000), BENCH_MART_MEMBERS (default 1000; the
 * marts bench loads them twice, as two sources).
 */
const resources = positive('BENCH_RESOURCES', 300_000);
const concurrency = positive('BENCH_CONCURRENCY', 2);
const bigBytes = positive('BENCH_BIG_BYTES', 2 ** 30);
const exchangeMembers = positive('BENCH_EXCHANGE_MEMBERS', 10_000);
const only = new Set(
  (
    process.env.BENCH_ONLY ??
    `startup,transforms,raw,views,network,exchange,marts${process.env.BENCH_BIG === '1' ? ',big' : ''}`
  )
    .split(',')
    .map((s) => s.trim()),
);

const results: {
  date: string;
  machine: Record<string, unknown>;
  dataset?: Record<string, unknown>;
  startup?: StartupCase[];
  transforms?: Awaited<ReturnType<typeof benchTransforms>>;
  raw?: LoadBenchResult;
  views?: LoadBenchResult;
  network?: NetworkBenchResult;
  exchange?: ExchangeBenchResult;
  big?: MemoryBenchResult;
  marts?: MartBenchResult;
} = {
  date: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryBytes: totalmem(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    loadavgAtStart: loadavg().map((n) => round(n, 2)),
  },
};

if (only.has('startup')) {
  log('bench: start-up ...');
  results.startup = await benchStartup();
}
if (only.has('transforms')) {
  log('bench: transforms ...');
  results.transforms = await benchTransforms();
}
if (only.has('raw') || only.has('views') || only.has('network')) {
  const dataset = await prepareDataset(resources, log);
  results.dataset = {
    dir: dataset.dir,
    copies: dataset.copies,
    resources: dataset.resources,
    bytes: dataset.bytes,
    files: dataset.files.length,
    cached: dataset.cached,
  };
  log(
    `bench: dataset ${dataset.resources} resources, ${mb(dataset.bytes)} MB in ${dataset.files.length} files`,
  );
  if (only.has('raw')) {
    log('bench: raw landing ...');
    results.raw = await benchRawLoad(dataset, concurrency);
  }
  if (only.has('views')) {
    log('bench: raw + views ...');
    results.views = await benchViewsLoad(dataset, concurrency);
  }
  if (only.has('network')) {
    log('bench: network (bulk download + load) vs disk ...');
    results.network = await benchNetworkLoad(dataset, concurrency);
  }
}
if (only.has('exchange')) {
  log(`bench: payer exchange, ${exchangeMembers} members ...`);
  results.exchange = await benchExchange(exchangeMembers);
}
if (only.has('marts')) {
  log('bench: analytics marts ...');
  results.marts = await benchMarts(positive('BENCH_MART_MEMBERS', 1000));
}
if (only.has('big')) {
  const big = await prepareBigFile(bigBytes, log);
  log(`bench: big file ${big.resources} resources, ${mb(big.bytes)} MB ...`);
  results.big = await benchBigFile(big);
}

await mkdir(dataRoot, { recursive: true });
await writeFile(join(dataRoot, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
print();

function print(): void {
  const out: string[] = [];
  if (results.startup) {
    out.push(
      renderTable(
        ['start-up (20 runs)', 'median ms', 'min ms', 'max ms', 'x floor', 'target'],
        results.startup.map((c) => [
          c.name,
          c.medianMs,
          c.minMs,
          c.maxMs,
          c.vsFloor,
          c.target === 'floor' || c.target === '' ? '' : `${c.target} ${c.met ? 'met' : 'NOT met'}`,
        ]),
      ),
      '',
    );
  }
  if (results.transforms) {
    const baselines = new Map(
      results.transforms
        .filter((r) => r.engine.includes('baseline'))
        .map((r) => [r.view, r.resourcesPerSecond]),
    );
    out.push(
      renderTable(
        ['view', 'engine', 'resources/s', 'vs baseline'],
        results.transforms.map((r) => [
          r.view,
          r.engine,
          r.resourcesPerSecond,
          `${(r.resourcesPerSecond / (baselines.get(r.view) ?? r.resourcesPerSecond)).toFixed(1)}x`,
        ]),
      ),
      '',
    );
  }
  const loads = [results.raw, results.views].filter((r): r is LoadBenchResult => r !== undefined);
  if (loads.length > 0) {
    out.push(
      renderTable(
        [
          'load',
          'resources',
          'view rows',
          'MB',
          'wall s',
          'resources/s',
          'MB/s',
          'peak RSS MB',
          'psql \\copy s',
          'ratio',
          'target',
        ],
        loads.map((r) => [
          r.name,
          r.resources,
          r.viewRows,
          mb(r.inputBytes),
          round(r.wallMs / 1000, 1),
          r.resourcesPerSecond,
          r.mbPerSecond,
          mb(r.peakRssBytes, 2 ** 20),
          round(r.ceiling.wallMs / 1000, 1),
          r.ratio,
          `>= ${r.target} ${r.met ? 'met' : 'NOT met'}`,
        ]),
      ),
      '',
    );
  }
  if (results.network) {
    const n = results.network;
    out.push(
      renderTable(
        ['path', 'resources', 'wall s', 'resources/s', 'network / disk', 'target'],
        [
          [
            'fhir-etl load (disk)',
            n.resources,
            round(n.disk.wallMs / 1000, 1),
            n.disk.resourcesPerSecond,
            '',
            '',
          ],
          [
            'fhir-etl run (bulk, HTTP)',
            n.resources,
            round(n.network.wallMs / 1000, 1),
            n.network.resourcesPerSecond,
            n.ratio,
            `<= ${n.target} ${n.met ? 'met' : 'NOT met'}`,
          ],
        ],
      ),
      '',
    );
  }
  if (results.exchange) {
    const e = results.exchange;
    out.push(
      renderTable(
        ['payer exchange', 'members', 'requests', 'wall s', 'members/s'],
        [
          [
            `read + build MemberBundles (${mb(e.build.requestBytes)} MB)`,
            e.members,
            '',
            round(e.build.wallMs / 1000, 2),
            e.build.membersPerSecond,
          ],
          ...e.runs.map((r) => [
            `run: match, batchSize ${r.batchSize}`,
            e.members,
            r.requests,
            round(r.wallMs / 1000, 1),
            r.membersPerSecond,
          ]),
        ],
      ),
      '',
    );
  }
  if (results.big) {
    const b = results.big;
    out.push(
      renderTable(
        ['big file', 'resources', 'MB', 'wall s', 'resources/s', 'MB/s', 'peak RSS MB', 'target'],
        [
          [
            'Observation.ndjson',
            b.resources,
            mb(b.inputBytes),
            round(b.wallMs / 1000, 1),
            b.resourcesPerSecond,
            b.mbPerSecond,
            mb(b.peakRssBytes, 2 ** 20),
            `<= ${mb(b.targetBytes, 2 ** 20)} MB ${b.met ? 'met' : 'NOT met'}`,
          ],
        ],
      ),
      '',
    );
  }
  const server = results.raw?.server ?? results.views?.server ?? results.big?.server;
  out.push(
    `${String(results.machine.cpus)} cores, node ${String(results.machine.node)}${server ? `, ${server}` : ''}; ` +
      `load average at start ${(results.machine.loadavgAtStart as number[]).join(' ')}`,
    `results: ${join(dataRoot, 'results.json')}`,
  );
  if (results.marts) {
    out.push(
      renderTable(
        [
          `analytics mart (${results.marts.members} members x ${results.marts.sources} sources)`,
          'rows',
          'median ms',
        ],
        results.marts.marts.map((m) => [m.mart, m.rows, m.medianMs]),
      ),
      '',
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

function mb(bytes: number, unit = 1e6): number {
  return round(bytes / unit, 1);
}

function positive(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got "${value}"`);
  return Math.round(n);
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}
