import { sql } from '@databases/pg';
import test, { type ExecutionContext } from 'ava';
import { type BulkServer, captureLogger, ndjson, runBulk } from './helpers/bulk-server.ts';
import { bulkSource, kickOffAccepted, scriptedServer, sinces } from './helpers/bulk-run.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

/**
 * An export the server expired (its status URL gone, or its files 410 with fresh URLs too) is
 * ended `expired` and replaced in the same run by a new export with the same `_since`; an
 * unfinished export is never resumed by --full-refresh or from another baseUrl.
 */

const warehouse = useTestWarehouse(test, { noDeadlocks: true });

const FIRST = '2026-02-01T10:00:00.000Z';
const SECOND = '2026-02-02T10:00:00.000Z';

function manifest(s: BulkServer, transactionTime: string, files: string[]) {
  return {
    status: 200,
    json: {
      transactionTime,
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

async function patients(source: string): Promise<number> {
  const [row] = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir_raw.patient WHERE source = ${source} AND NOT deleted`,
  );
  return row.n;
}

/**
 * Run 1 completes export job0 (checkpoint FIRST); run 2 kicks off job1 with _since=FIRST and
 * commits one of its two files (the other answers 404), leaving job1 downloading.
 */
async function leaveExportDownloading(
  t: ExecutionContext,
  s: BulkServer,
  source: string,
  b = ndjson('Patient', 2, 'b'),
): Promise<void> {
  s.route('GET', '/status/job0', manifest(s, FIRST, ['a.ndjson']));
  s.route('DELETE', '/status/job0', { status: 202 });
  s.route('GET', '/files/a.ndjson', { status: 200, body: ndjson('Patient', 2, 'a') });
  s.route('GET', '/status/job1', manifest(s, SECOND, ['b.ndjson', 'c.ndjson']));
  s.route('GET', '/files/b.ndjson', { status: 200, body: b });
  s.route('GET', '/files/c.ndjson', { status: 404, body: 'not here' });
  s.route(
    'GET',
    '/fhir/$export',
    kickOffAccepted(s, 'job0'),
    kickOffAccepted(s, 'job1'),
    kickOffAccepted(s, 'job2'),
  );
  t.is((await runBulk(warehouse.db, bulkSource(s, source))).status, 'succeeded');
  t.is((await runBulk(warehouse.db, bulkSource(s, source))).status, 'failed');
  t.deepEqual(await exportStates(source), ['completed', 'downloading']);
}

test('a resumed export whose status URL answers 410 is ended expired and a new export with the same _since loads in the same run', async (t) => {
  const s = await scriptedServer(t);
  await leaveExportDownloading(t, s, 'gone');
  s.route('GET', '/status/job1', { status: 410, json: { resourceType: 'OperationOutcome', issue: [] } });
  s.route('GET', '/status/job2', manifest(s, SECOND, ['b2.ndjson', 'c2.ndjson']));
  s.route('DELETE', '/status/job2', { status: 202 });
  s.route('GET', '/files/b2.ndjson', { status: 200, body: ndjson('Patient', 2, 'b') });
  s.route('GET', '/files/c2.ndjson', { status: 200, body: ndjson('Patient', 2, 'c') });
  const { logger, lines } = captureLogger();

  const result = await runBulk(warehouse.db, bulkSource(s, 'gone'), { logger });

  t.is(result.status, 'succeeded', result.error);
  t.deepEqual(await exportStates('gone'), ['completed', 'expired', 'completed']);
  t.deepEqual(sinces(s), [null, FIRST, FIRST], 'the new export asks from the same _since');
  t.is(await patients('gone'), 6);
  const said = lines.find((l) => l.event === 'bulk.export_expired');
  t.regex(
    String(said?.msg),
    /no longer exists \(410\).*ended as expired.*new export.*same _since \(2026-02-01/,
  );
  const [checkpoint] = await warehouse.db.query(
    sql`SELECT value FROM fhir_etl.checkpoints WHERE source = 'gone' AND scope = 'bulk:transactionTime'`,
  );
  t.is(checkpoint.value, SECOND);
});

test('files that stay 410 Gone with fresh URLs end the export expired; the same run kicks off a new one', async (t) => {
  const s = await scriptedServer(t);
  await leaveExportDownloading(t, s, 'stale-files');
  s.route('GET', '/files/c.ndjson', { status: 410, body: 'expired' });
  s.route('GET', '/status/job2', manifest(s, SECOND, ['c2.ndjson']));
  s.route('DELETE', '/status/job2', { status: 202 });
  s.route('GET', '/files/c2.ndjson', { status: 200, body: ndjson('Patient', 2, 'c') });

  const result = await runBulk(warehouse.db, bulkSource(s, 'stale-files'));

  t.is(result.status, 'succeeded', result.error);
  t.deepEqual(await exportStates('stale-files'), ['completed', 'expired', 'completed']);
  t.deepEqual(sinces(s), [null, FIRST, FIRST]);
  t.is(
    s.requests.filter((r) => r.path === '/files/c.ndjson').length,
    1 + 3,
    'run 2 once; run 3 with 2 refreshes',
  );
  const [job] = await warehouse.db.query(
    sql`SELECT error FROM fhir_etl.bulk_exports WHERE source = 'stale-files' AND state = 'expired'`,
  );
  t.regex(job.error, /expired on the server: its file still answers 410 Gone after 2 fresh manifest/);
  t.is(await patients('stale-files'), 6);
});

test('a new export that expires too fails the run: one replacement a run, the export ended expired', async (t) => {
  const s = await scriptedServer(t);
  await leaveExportDownloading(t, s, 'always-gone');
  s.route('GET', '/status/job1', { status: 404, body: 'unknown job' });
  s.route('GET', '/status/job2', { status: 404, body: 'unknown job' });

  const result = await runBulk(warehouse.db, bulkSource(s, 'always-gone'));

  t.is(result.status, 'failed');
  t.regex(result.error ?? '', /no longer exists \(404\)/);
  t.deepEqual(await exportStates('always-gone'), ['completed', 'expired', 'expired']);
});

test('--full-refresh never resumes an unfinished export, even one kicked off without _since', async (t) => {
  const s = await scriptedServer(t);
  s.route('GET', '/fhir/$export', kickOffAccepted(s, 'job1'), kickOffAccepted(s, 'job2'));
  s.route('GET', '/status/job1', manifest(s, FIRST, ['x.ndjson']));
  s.route('GET', '/files/x.ndjson', { status: 404, body: 'not yet' });
  s.route('DELETE', '/status/job1', { status: 202 });
  s.route('GET', '/status/job2', manifest(s, SECOND, []));
  s.route('DELETE', '/status/job2', { status: 202 });
  t.is((await runBulk(warehouse.db, bulkSource(s, 'refresh'))).status, 'failed');

  const result = await runBulk(warehouse.db, bulkSource(s, 'refresh'), { request: { fullRefresh: true } });

  t.is(result.status, 'succeeded', result.error);
  t.deepEqual(await exportStates('refresh'), ['abandoned', 'completed']);
  t.true(s.requests.some((r) => r.method === 'DELETE' && r.path === '/status/job1'));
});

test('an unfinished export is not resumed once the source points at another baseUrl', async (t) => {
  const s = await scriptedServer(t);
  s.route('GET', '/fhir/$export', kickOffAccepted(s, 'job1'));
  s.route('GET', '/other/$export', kickOffAccepted(s, 'job2'));
  s.route('GET', '/status/job1', manifest(s, FIRST, ['x.ndjson']));
  s.route('GET', '/files/x.ndjson', { status: 404, body: 'not yet' });
  s.route('DELETE', '/status/job1', { status: 202 });
  s.route('GET', '/status/job2', manifest(s, SECOND, []));
  s.route('DELETE', '/status/job2', { status: 202 });
  t.is((await runBulk(warehouse.db, bulkSource(s, 'moved'))).status, 'failed');
  const { logger, lines } = captureLogger();

  const result = await runBulk(
    warehouse.db,
    { ...bulkSource(s, 'moved'), baseUrl: `${s.url}/other` },
    { logger },
  );

  t.is(result.status, 'succeeded', result.error);
  t.deepEqual(await exportStates('moved'), ['abandoned', 'completed']);
  t.regex(String(lines.find((l) => l.event === 'bulk.abandon')?.msg), /baseUrl changed/);
});

test('a file downloaded again by the new export does not record its rejects twice: the reload replaces them', async (t) => {
  const s = await scriptedServer(t);
  const withBadLine = `${ndjson('Patient', 1, 'b')}{"resourceType":"Patient","id":\n${ndjson('Patient', 1, 'bb')}`;
  await leaveExportDownloading(t, s, 'reloaded', withBadLine);
  s.route('GET', '/status/job1', { status: 404, body: 'unknown job' });
  s.route('GET', '/status/job2', manifest(s, SECOND, ['b2.ndjson', 'c2.ndjson']));
  s.route('DELETE', '/status/job2', { status: 202 });
  s.route('GET', '/files/b2.ndjson', { status: 200, body: withBadLine });
  s.route('GET', '/files/c2.ndjson', { status: 200, body: ndjson('Patient', 2, 'c') });

  const result = await runBulk(warehouse.db, bulkSource(s, 'reloaded'));

  t.is(result.status, 'succeeded', result.error);
  t.is(result.rejects, 1, 'this run read the bad line once');
  const rejects: Array<{ line: number; file: string; run_id: number }> = await warehouse.db.query(
    sql`SELECT line, file, run_id FROM fhir_etl.rejects WHERE source = 'reloaded'`,
  );
  t.is(rejects.length, 1, 'one row for one bad line, though two exports downloaded it');
  t.is(Number(rejects[0]?.line), 2);
  t.regex(rejects[0]?.file ?? '', /b2\.ndjson$/, 'the row now names the latest download');
});
