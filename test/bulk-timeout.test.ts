import { sql } from '@databases/pg';
import test from 'ava';
import { type BulkServer, fakeClock, ndjson, runBulk } from './helpers/bulk-server.ts';
import { kickOffAccepted, scriptedServer } from './helpers/bulk-run.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

/**
 * export.timeoutMinutes bounds how long one run waits for the server to prepare an export,
 * from when that run starts polling: never the export's age. Timed with an injected clock.
 */

const warehouse = useTestWarehouse(test, { noDeadlocks: true });

const TRANSACTION_TIME = '2026-02-01T10:00:00.000Z';
const DAY_AND_AN_HOUR = 25 * 60 * 60_000;

function manifest(s: BulkServer, files: string[]) {
  return {
    status: 200,
    json: {
      transactionTime: TRANSACTION_TIME,
      requiresAccessToken: false,
      output: files.map((f) => ({ type: 'Patient', url: `${s.url}/files/${f}` })),
      error: [],
    },
  };
}

async function exportStates(source: string): Promise<string[]> {
  const rows: Array<{ state: string }> = await warehouse.db.query(
    sql`SELECT state FROM fhir_etl.bulk_exports WHERE source = ${source} ORDER BY id`,
  );
  return rows.map((row) => row.state);
}

test('an export a crashed run left downloading is resumed a day later: no timeout, and a 410 re-fetches the manifest', async (t) => {
  const s = await scriptedServer(t);
  s.route('GET', '/fhir/$export', kickOffAccepted(s));
  s.route('GET', '/status/job1', manifest(s, ['p.ndjson']));
  s.route(
    'GET',
    '/files/p.ndjson',
    { status: 404, body: 'not yet' },
    { status: 410, body: 'expired' },
    { status: 200, body: ndjson('Patient', 3, 'late') },
  );
  s.route('DELETE', '/status/job1', { status: 202 });
  const clock = fakeClock();
  const src = { name: 'late', baseUrl: `${s.url}/fhir`, export: { maxPollIntervalSeconds: 1 } };

  const crashed = await runBulk(warehouse.db, src, { clock });
  t.is(crashed.status, 'failed');
  t.deepEqual(await exportStates('late'), ['downloading']);

  clock.advance(DAY_AND_AN_HOUR); // the next daily run, past the default 1440 minutes
  const resumed = await runBulk(warehouse.db, src, { clock });

  t.is(resumed.status, 'succeeded', resumed.error);
  t.deepEqual(await exportStates('late'), ['completed']);
  t.is(s.requests.filter((r) => r.path.includes('$export')).length, 1, 'no second kick-off');
  t.is(s.requests.filter((r) => r.path === '/status/job1' && r.method === 'GET').length, 3);
  const [row] = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir_raw.patient WHERE source = 'late'`,
  );
  t.is(row.n, 3);
});

test('an export still polling when a crashed run is resumed a day later gets a full timeout from the resume', async (t) => {
  const s = await scriptedServer(t);
  const shutdown = new AbortController();
  s.route('GET', '/fhir/$export', kickOffAccepted(s));
  s.route('GET', '/status/job1', () => {
    shutdown.abort();
    return { status: 202, headers: { 'retry-after': '0' } };
  });
  const clock = fakeClock();
  const src = { name: 'slow-server', baseUrl: `${s.url}/fhir`, export: { maxPollIntervalSeconds: 1 } };
  t.is((await runBulk(warehouse.db, src, { clock, signal: shutdown.signal })).status, 'failed');

  clock.advance(DAY_AND_AN_HOUR);
  s.route('GET', '/status/job1', { status: 202, headers: { 'retry-after': '1' } }, manifest(s, []));
  s.route('DELETE', '/status/job1', { status: 202 });
  const resumed = await runBulk(warehouse.db, src, { clock });

  t.is(resumed.status, 'succeeded', resumed.error);
  t.deepEqual(await exportStates('slow-server'), ['completed']);
});

test('polling past export.timeoutMinutes ends the export and cancels it (DELETE); the next run kicks off anew', async (t) => {
  const s = await scriptedServer(t);
  s.route('GET', '/fhir/$export', kickOffAccepted(s), kickOffAccepted(s, 'job2'));
  s.route('GET', '/status/job1', {
    status: 202,
    headers: { 'retry-after': '30', 'x-progress': 'still counting' },
  });
  s.route('DELETE', '/status/job1', { status: 202 });
  s.route('GET', '/status/job2', manifest(s, []));
  s.route('DELETE', '/status/job2', { status: 202 });
  const clock = fakeClock();
  const src = {
    name: 'never-ready',
    baseUrl: `${s.url}/fhir`,
    export: { maxPollIntervalSeconds: 30, timeoutMinutes: 1 },
  };

  const timedOut = await runBulk(warehouse.db, src, { clock });

  t.is(timedOut.status, 'failed');
  t.regex(
    timedOut.error ?? '',
    /did not complete within 1 minutes of polling.*still counting.*next run kicks off a new one/,
  );
  t.is(
    s.requests.filter((r) => r.path === '/status/job1' && r.method === 'GET').length,
    3,
    'polled at 0, 30 and 60 s',
  );
  t.true(s.requests.some((r) => r.path === '/status/job1' && r.method === 'DELETE'));
  t.deepEqual(await exportStates('never-ready'), ['failed']);

  const next = await runBulk(warehouse.db, src, { clock });

  t.is(next.status, 'succeeded', next.error);
  t.is(s.requests.filter((r) => r.path.includes('$export')).length, 2);
  t.deepEqual(await exportStates('never-ready'), ['failed', 'completed']);
});
