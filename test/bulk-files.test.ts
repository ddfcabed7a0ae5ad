import { sql } from '@databases/pg';
import test from 'ava';
import { captureLogger, deletedBundle, ndjson, outcome, runBulk } from './helpers/bulk-server.ts';
import { bulkSource, kickOffAccepted, scriptedServer } from './helpers/bulk-run.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

/** Files of a manifest: what an unreadable deleted line leaves, how a shutdown stops retries, what a status URL shows. */

const warehouse = useTestWarehouse(test, { noDeadlocks: true });

const TRANSACTION_TIME = '2026-02-01T10:00:00.000Z';

function manifest(body: Record<string, unknown>) {
  return {
    status: 200,
    json: { transactionTime: TRANSACTION_TIME, requiresAccessToken: false, output: [], error: [], ...body },
  };
}

test('an unreadable line of a deleted file goes to fhir_etl.rejects and is counted; the readable deletions apply', async (t) => {
  const s = await scriptedServer(t);
  s.route('GET', '/fhir/$export', kickOffAccepted(s), kickOffAccepted(s, 'job2'));
  s.route('GET', '/status/job1', manifest({ output: [{ type: 'Patient', url: `${s.url}/files/p.ndjson` }] }));
  s.route(
    'GET',
    '/status/job2',
    manifest({ deleted: [{ type: 'Bundle', url: `${s.url}/files/deleted.ndjson` }] }),
  );
  s.route('GET', '/files/p.ndjson', { status: 200, body: ndjson('Patient', 3, 'd') });
  s.route('GET', '/files/deleted.ndjson', {
    status: 200,
    body: `${deletedBundle(['Patient/d1'])}{"resourceType":"Bundle","entry":[{"request":\n${deletedBundle(['Patient/d2'])}`,
  });
  s.route('DELETE', '/status/job1', { status: 202 });
  s.route('DELETE', '/status/job2', { status: 202 });
  t.is((await runBulk(warehouse.db, bulkSource(s, 'bad-deleted'))).status, 'succeeded');

  const result = await runBulk(warehouse.db, bulkSource(s, 'bad-deleted'));

  t.is(result.status, 'succeeded', result.error);
  t.is(result.rejects, 1);
  const rejects = await warehouse.db.query(
    sql`SELECT line, reason, raw, file FROM fhir_etl.rejects WHERE source = 'bad-deleted'`,
  );
  t.is(rejects.length, 1);
  t.like(rejects[0], { line: 2, raw: '{"resourceType":"Bundle","entry":[{"request":' });
  t.regex(rejects[0].reason, /^not JSON/);
  t.regex(rejects[0].file, /deleted\.ndjson$/);
  const [file] = await warehouse.db.query(
    sql`SELECT rejects FROM fhir_etl.files WHERE source = 'bad-deleted' AND file_key LIKE '%:deleted:%'`,
  );
  t.is(Number(file.rejects), 1);
  const [left] = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir_raw.patient WHERE source = 'bad-deleted' AND NOT deleted`,
  );
  t.is(left.n, 1, 'd1 and d2 deleted');
});

test('a shutdown while a file is being retried stops the retries at once', async (t) => {
  const s = await scriptedServer(t);
  const shutdown = new AbortController();
  s.route('GET', '/fhir/$export', kickOffAccepted(s));
  s.route('GET', '/status/job1', manifest({ output: [{ type: 'Patient', url: `${s.url}/files/p.ndjson` }] }));
  s.route('GET', '/files/p.ndjson', () => {
    shutdown.abort();
    return { status: 200, body: ndjson('Patient', 200, 'cut'), gzip: true, truncate: true };
  });

  const result = await runBulk(warehouse.db, bulkSource(s, 'retry-shutdown'), { signal: shutdown.signal });

  t.is(result.status, 'failed');
  t.regex(result.error ?? '', /stopped \(shutdown\).*resumes/);
  t.is(s.requests.filter((r) => r.path === '/files/p.ndjson').length, 1, 'no retry after the shutdown');
  const [job] = await warehouse.db.query(
    sql`SELECT state FROM fhir_etl.bulk_exports WHERE source = 'retry-shutdown'`,
  );
  t.is(job.state, 'downloading', 'the next run resumes it');
});

test('a capability status URL is kept for resuming but shown redacted in errors, logs and the export row', async (t) => {
  const s = await scriptedServer(t);
  const secret = '3f9c2a7e5b1d4c8e9f0a6b2c';
  s.route('GET', '/fhir/$export', {
    status: 202,
    headers: { 'content-location': `${s.url}/bulkstatus/${secret}` },
  });
  s.route(
    'GET',
    `/bulkstatus/${secret}`,
    { status: 500, json: outcome('transient', 'busy') },
    { status: 500, json: outcome('exception', 'export job crashed') },
  );
  const { logger, lines } = captureLogger();

  const result = await runBulk(warehouse.db, bulkSource(s, 'capability'), { logger });

  t.is(result.status, 'failed');
  t.regex(result.error ?? '', /\/bulkstatus\/3f9c… failed \(500\): export job crashed/);
  const [job] = await warehouse.db.query(
    sql`SELECT status_url, error FROM fhir_etl.bulk_exports WHERE source = 'capability'`,
  );
  t.is(job.status_url, `${s.url}/bulkstatus/${secret}`, 'stored as sent: a resumed export polls it');
  t.false(job.error.includes(secret));
  t.true(lines.length > 0);
  t.false(JSON.stringify(lines).includes(secret), 'no log line carries the status URL unredacted');
});

/**
 * An error file of `count` warnings (an error-severity issue would fail the run), each with its
 * own diagnostics so the file compresses poorly and half of it holds whole lines.
 */
function warnings(count: number): string {
  let text = '';
  for (let i = 1; i <= count; i++) {
    const diagnostics = `resource ${i} exported without its notes (${i * 7919})`;
    text += `${JSON.stringify(outcome('informational', diagnostics, 'warning'))}\n`;
  }
  return text;
}

test('an error file whose download is cut off is downloaded again, and the run succeeds', async (t) => {
  const s = await scriptedServer(t);
  s.route('GET', '/fhir/$export', kickOffAccepted(s));
  s.route(
    'GET',
    '/status/job1',
    manifest({ error: [{ type: 'OperationOutcome', url: `${s.url}/files/errors.ndjson` }] }),
  );
  s.route(
    'GET',
    '/files/errors.ndjson',
    { status: 200, body: warnings(200), gzip: true, truncate: true },
    { status: 200, body: warnings(200), gzip: true },
  );
  s.route('DELETE', '/status/job1', { status: 202 });
  const { logger, lines } = captureLogger();

  const result = await runBulk(warehouse.db, bulkSource(s, 'cut-errors'), { logger });

  t.is(result.status, 'succeeded', result.error);
  t.is(s.requests.filter((r) => r.path === '/files/errors.ndjson').length, 2);
  t.true(lines.some((l) => l.event === 'bulk.file_retry' && /cut off/.test(String(l.reason))));
  const [recorded] = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir_etl.bulk_errors WHERE source = 'cut-errors'`,
  );
  t.is(recorded.n, 200, 'the issues of the whole file, once: the cut-off attempt left none');
  const [file] = await warehouse.db.query(
    sql`SELECT lines, counts FROM fhir_etl.files WHERE source = 'cut-errors'`,
  );
  t.like(file, { lines: 200, counts: { issues: 200 } });
});

test('a file whose load fails the same way every time is downloaded once, not again and again', async (t) => {
  const s = await scriptedServer(t);
  // A real, deterministic failure inside the file's transaction: its fhir_etl.files row is refused.
  await warehouse.db.query(
    sql`ALTER TABLE fhir_etl.files ADD CONSTRAINT test_doomed CHECK (source <> 'doomed')`,
  );
  t.teardown(() => warehouse.db.query(sql`ALTER TABLE fhir_etl.files DROP CONSTRAINT test_doomed`));
  s.route('GET', '/fhir/$export', kickOffAccepted(s));
  s.route('GET', '/status/job1', manifest({ output: [{ type: 'Patient', url: `${s.url}/files/p.ndjson` }] }));
  s.route('GET', '/files/p.ndjson', { status: 200, body: ndjson('Patient', 3, 'doomed') });

  const result = await runBulk(warehouse.db, bulkSource(s, 'doomed'));

  t.is(result.status, 'failed');
  t.regex(result.error ?? '', /test_doomed/);
  t.is(s.requests.filter((r) => r.path === '/files/p.ndjson').length, 1);
  const [left] = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir_raw.patient WHERE source = 'doomed'`,
  );
  t.is(left.n, 0, 'nothing of the file committed');
});
