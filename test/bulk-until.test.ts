import test from 'ava';
import {
  checkpoint,
  kickOffAccepted,
  kickOffQueries,
  scriptedServer,
  writeConfigFile,
} from './helpers/bulk-run.ts';
import { type BulkServer, ndjson, runBulk } from './helpers/bulk-server.ts';
import { runCli } from './helpers/cli.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

/**
 * Bulk Data STU3 `_until`: an export bounded above leaves its `_until` as the next `_since`.
 *
 * @see /work/shared/reference/standards.md section 4 ("If `_until` was used, the next `_since` is that `_until` value")
 */

const warehouse = useTestWarehouse(test, { noDeadlocks: true });

const TRANSACTION_TIME = '2026-02-01T10:00:00.000Z';
const UNTIL = '2026-01-15T00:00:00Z';

/** A server that accepts every kick-off and answers with one Patient file. */
async function exportingServer(t: { teardown(fn: () => Promise<void>): void }): Promise<BulkServer> {
  const s = await scriptedServer(t);
  const accepted = kickOffAccepted(s);
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

test('fhir-etl run --until sends _until, and the next run sends that _until as its _since', async (t) => {
  const s = await exportingServer(t);
  const config = await writeConfigFile('fhir-etl-until-', [
    'sources:',
    '  - name: bounded',
    '    kind: bulk',
    `    baseUrl: ${s.url}/fhir`,
    '    export: { maxPollIntervalSeconds: 0.05 }',
  ]);

  const first = await runCli(['--config', config, 'run', '--until', UNTIL], { databaseUrl: warehouse.url });
  t.is(first.code, 0, first.stderr);
  t.is(
    await checkpoint(warehouse.db, 'bounded'),
    UNTIL,
    'the checkpoint is the _until, not the transactionTime',
  );
  const second = await runCli(['--config', config, 'run'], { databaseUrl: warehouse.url });
  t.is(second.code, 0, second.stderr);

  const [kickOff, next] = kickOffQueries(s);
  t.is(kickOff?.get('_until'), UNTIL);
  t.is(kickOff?.get('_since'), null);
  t.is(next?.get('_since'), UNTIL);
  t.is(next?.get('_until'), null);
  t.is(
    await checkpoint(warehouse.db, 'bounded'),
    TRANSACTION_TIME,
    'an unbounded export checkpoints its transactionTime',
  );
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
  t.is(await checkpoint(warehouse.db, 'bounded-post'), UNTIL);
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
  t.is(await checkpoint(warehouse.db, 'bounded-future'), TRANSACTION_TIME);
});

test('export.until must be a FHIR instant', async (t) => {
  const config = await writeConfigFile(
    'fhir-etl-until-',
    [
      'sources:',
      '  - name: x',
      '    kind: bulk',
      '    baseUrl: http://127.0.0.1:1/fhir',
      '    export: { until: "last week" }',
    ],
    'bad.yaml',
  );

  const result = await runCli(['--config', config, 'run'], { databaseUrl: warehouse.url });

  t.is(result.code, 2);
  t.regex(result.stderr, /sources\[0\]\.export\.until: must be a FHIR instant/);
});
