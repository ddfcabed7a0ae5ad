import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import test from 'ava';
import { type BulkServer, ndjson, runBulk, startBulkServer } from './helpers/bulk-server.ts';
import { runCli } from './helpers/cli.ts';
import { createTestWarehouse, type TestWarehouse } from './helpers/warehouse.ts';

/**
 * Bulk Data STU3 `_until`: an export bounded above leaves its `_until` as the next `_since`.
 *
 * @see /work/shared/reference/standards.md section 4 ("If `_until` was used, the next `_since` is that `_until` value")
 */

let warehouse: TestWarehouse;
test.before(async () => {
  warehouse = await createTestWarehouse();
});
test.after.always(async () => {
  await warehouse?.drop();
});

const TRANSACTION_TIME = '2026-02-01T10:00:00.000Z';
const UNTIL = '2026-01-15T00:00:00Z';

/** A server that accepts every kick-off and answers with one Patient file. */
async function exportingServer(t: { teardown(fn: () => Promise<void>): void }): Promise<BulkServer> {
  const s = await startBulkServer();
  t.teardown(s.close);
  const accepted = { status: 202, headers: { 'content-location': `${s.url}/status/job1` } };
  s.route('GET', '/fhir/$export', accepted);
  s.route('POST', '/fhir/$export', accepted);
  s.route('GET', '/status/job1', {
    status: 200,
    json: {
      transactionTime: TRANSACTION_TIME,
      request: `${s.url}/fhir/$export`,
      requiresAccessToken: false,
      output: [{ type: 'Patient', url: `${s.url}/files/p.ndjson` }],
      error: [],
    },
  });
  s.route('GET', '/files/p.ndjson', { status: 200, body: ndjson('Patient', 2) });
  s.route('DELETE', '/status/job1', { status: 202 });
  return s;
}

function kickOffQueries(s: BulkServer): URLSearchParams[] {
  return s.requests
    .filter((r) => r.method === 'GET' && r.path.includes('$export'))
    .map((r) => new URL(r.path, s.url).searchParams);
}

async function checkpoint(source: string): Promise<string | undefined> {
  const [row] = await warehouse.db.query(
    sql`SELECT value FROM fhir_etl.checkpoints WHERE source = ${source} AND scope = 'bulk:transactionTime'`,
  );
  return row?.value;
}

test('fhir-etl run --until sends _until, and the next run sends that _until as its _since', async (t) => {
  const s = await exportingServer(t);
  const dir = await mkdtemp(join(tmpdir(), 'fhir-etl-until-'));
  const config = join(dir, 'fhir-etl.config.yaml');
  await writeFile(
    config,
    [
      'sources:',
      '  - name: bounded',
      '    kind: bulk',
      `    baseUrl: ${s.url}/fhir`,
      '    export: { maxPollIntervalSeconds: 0.05 }',
      '',
    ].join('\n'),
  );

  const first = await runCli(['--config', config, 'run', '--until', UNTIL], { databaseUrl: warehouse.url });
  t.is(first.code, 0, first.stderr);
  t.is(await checkpoint('bounded'), UNTIL, 'the checkpoint is the _until, not the transactionTime');
  const second = await runCli(['--config', config, 'run'], { databaseUrl: warehouse.url });
  t.is(second.code, 0, second.stderr);

  const [kickOff, next] = kickOffQueries(s);
  t.is(kickOff?.get('_until'), UNTIL);
  t.is(kickOff?.get('_since'), null);
  t.is(next?.get('_since'), UNTIL);
  t.is(next?.get('_until'), null);
  t.is(await checkpoint('bounded'), TRANSACTION_TIME, 'an unbounded export checkpoints its transactionTime');
});

test('export.until is sent in the POST Parameters body as _until', async (t) => {
  const s = await exportingServer(t);

  const result = await runBulk(warehouse.db, {
    name: 'bounded-post',
    baseUrl: `${s.url}/fhir`,
    export: { method: 'POST', until: UNTIL, maxPollIntervalSeconds: 0.05 },
  });

  t.is(result.status, 'succeeded', result.error);
  const body = JSON.parse(s.requests.find((r) => r.method === 'POST')?.body ?? '{}');
  t.deepEqual(
    body.parameter.find((p: { name: string }) => p.name === '_until'),
    { name: '_until', valueInstant: UNTIL },
  );
  t.is(await checkpoint('bounded-post'), UNTIL);
});

test('an _until later than the transactionTime checkpoints the transactionTime, so nothing is skipped', async (t) => {
  const s = await exportingServer(t);

  const result = await runBulk(
    warehouse.db,
    { name: 'bounded-future', baseUrl: `${s.url}/fhir`, export: { maxPollIntervalSeconds: 0.05 } },
    { request: { until: '2099-01-01T00:00:00Z' } },
  );

  t.is(result.status, 'succeeded', result.error);
  t.is(kickOffQueries(s)[0]?.get('_until'), '2099-01-01T00:00:00Z');
  t.is(await checkpoint('bounded-future'), TRANSACTION_TIME);
});

test('export.until must be a FHIR instant', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fhir-etl-until-'));
  const config = join(dir, 'bad.yaml');
  await writeFile(
    config,
    'sources:\n  - name: x\n    kind: bulk\n    baseUrl: http://127.0.0.1:1/fhir\n    export: { until: "last week" }\n',
  );

  const result = await runCli(['--config', config, 'run'], { databaseUrl: warehouse.url });

  t.is(result.code, 2);
  t.regex(result.stderr, /sources\[0\]\.export\.until: must be a FHIR instant/);
});
