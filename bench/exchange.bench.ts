import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from '@databases/pg';
import pino from 'pino';
import { configSchema, type LoadedConfig, type PayerExchangeSourceConfig } from '../config/index.ts';
import { readMembers } from '../pipeline/exchange/member-input.ts';
import { submissionDigest, submittable } from '../pipeline/exchange/submission.ts';
import { prepareLoad } from '../pipeline/ingest.ts';
import { runPayerExchangeSource } from '../pipeline/sources/payer-exchange.ts';
import { DEFAULT_CLIENTS, startSandbox } from '../sandbox/index.ts';
import { createBenchDatabase } from './database.ts';
import { round } from './load.bench.ts';

/**
 * The Payer-to-Payer match path for a large member list (BENCH_EXCHANGE_MEMBERS, default
 * 10,000): reading and checking the CSV and building every HRex MemberBundle (CPU only), then a
 * whole `fhir-etl run` of a payer exchange against the sandbox's prior payer, once in batches
 * of match.batchSize 1,000 and once as one request, into a fresh database each. No member
 * matches (their demographics are made up), so the runs time the match alone: build, send,
 * the sandbox's decision, polling, reading the result Groups, recording every outcome. The
 * sandbox runs in this process, on the same cores.
 */
export interface ExchangeBenchResult {
  members: number;
  build: { wallMs: number; membersPerSecond: number; requestBytes: number };
  runs: Array<{ batchSize: number; requests: number; wallMs: number; membersPerSecond: number }>;
  server: string;
}

export async function benchExchange(members: number): Promise<ExchangeBenchResult> {
  const sandbox = await startSandbox({ patients: 20, retryAfterSeconds: 0 });
  const folder = await mkdtemp(join(tmpdir(), 'fhir-etl-bench-exchange-'));
  try {
    const file = join(folder, 'members.csv');
    await writeFile(file, membersCsv(members));
    const entry = (batchSize: number) => ({
      name: 'bench-prior-payer',
      kind: 'payer-exchange',
      baseUrl: sandbox.p2pBaseUrl,
      auth: {
        type: 'client_credentials',
        tokenUrl: `${sandbox.url}/p2p/oauth2/token`,
        clientId: DEFAULT_CLIENTS.provider.clientId,
        clientSecret: DEFAULT_CLIENTS.provider.clientSecret,
      },
      requestingPayer: { value: '1234567893', name: 'New Health Plan' },
      priorPayer: { value: '1987654320', name: 'Sandbox Health Plan' },
      members: { file },
      consentDocument: 'https://new-plan.example.org/consents/{member}',
      match: { maxPollIntervalSeconds: 0.05, batchSize },
    });
    const build = await benchBuild(parseEntry(entry(1000)));
    const runs = [];
    let server = '';
    for (const batchSize of [1000, members]) {
      const before = sandbox.pdex.matchRequests.length;
      const result = await benchRun(parseEntry(entry(batchSize)), members);
      server = result.server;
      runs.push({
        batchSize,
        requests: sandbox.pdex.matchRequests.length - before,
        wallMs: round(result.wallMs, 0),
        membersPerSecond: Math.round(members / (result.wallMs / 1000)),
      });
    }
    return { members, build, runs, server };
  } finally {
    await sandbox.close();
    await rm(folder, { recursive: true, force: true });
  }
}

/** Reading the list and building every MemberBundle, with the digests a match keeps. */
async function benchBuild(source: PayerExchangeSourceConfig): Promise<ExchangeBenchResult['build']> {
  const started = performance.now();
  // readMembers needs a database only for `members.query`; a file source never touches it.
  const list = await readMembers(undefined as never, source);
  const built = list.map((m) => submittable(source, m));
  submissionDigest(built);
  const wallMs = performance.now() - started;
  const requestBytes = built.reduce(
    (sum, s) => sum + Buffer.byteLength(JSON.stringify({ name: 'MemberBundle', part: s.parts })),
    0,
  );
  return {
    wallMs: round(wallMs, 0),
    membersPerSecond: Math.round(list.length / (wallMs / 1000)),
    requestBytes,
  };
}

/** One `run` of the source into a fresh database: every member matched and recorded. */
async function benchRun(
  source: PayerExchangeSourceConfig,
  members: number,
): Promise<{ wallMs: number; server: string }> {
  const database = await createBenchDatabase('exchange');
  try {
    const db = database.warehouse.db;
    const config: LoadedConfig = { ...configSchema.parse({ sources: [source] }), file: undefined };
    const load = await prepareLoad(db, { views: [], viewSchema: 'fhir' });
    const started = performance.now();
    const result = await runPayerExchangeSource(
      { load, config, logger: pino({ level: 'silent' }), request: {} },
      config.sources[0] as PayerExchangeSourceConfig,
    );
    const wallMs = performance.now() - started;
    if (result.status !== 'succeeded') throw new Error(`the exchange bench run failed: ${result.error}`);
    const [recorded] = await db.query(
      sql`SELECT count(*)::int AS n FROM fhir_etl.exchange_members WHERE outcome = 'not-matched'`,
    );
    if (recorded.n !== members) throw new Error(`${recorded.n} of ${members} outcomes recorded`);
    return { wallMs, server: database.server };
  } finally {
    await database.drop();
  }
}

function parseEntry(entry: Record<string, unknown>): PayerExchangeSourceConfig {
  return configSchema.parse({ sources: [entry] }).sources[0] as PayerExchangeSourceConfig;
}

/** `count` made-up members with every column PDex uses, each with a consent in effect today. */
function membersCsv(count: number): string {
  const year = new Date().getUTCFullYear();
  const lines = [
    'member_id,given,family,birth_date,gender,address_line,city,state,postal_code,old_member_id,old_plan_id,consent_start,consent_end,consent_policy',
  ];
  for (let i = 0; i < count; i++) {
    const n = String(i).padStart(6, '0');
    lines.push(
      [
        `B-${n}`,
        `Given${n}`,
        `Family${n}`,
        `19${50 + (i % 50)}-0${1 + (i % 9)}-1${i % 10}`,
        i % 2 === 0 ? 'female' : 'male',
        `${i} Main Street`,
        'Springfield',
        'MA',
        '01101',
        `OLD${n}`,
        'HMO-GOLD',
        `${year - 1}-01-01`,
        `${year + 1}-12-31`,
        i % 10 === 0 ? 'non-sensitive' : 'all',
      ].join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}
