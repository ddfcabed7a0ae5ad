import { sql } from '@databases/pg';
import test from 'ava';
import { type BulkServer, captureLogger, ndjson, outcome, runBulk } from './helpers/bulk-server.ts';
import { bulkSource, checkpoint, kickOffAccepted, scriptedServer, sinces } from './helpers/bulk-run.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

/**
 * What the watermark (the next `_since`) may stand for: only the parameters it was reached
 * with, and only an export the server reported no failed resources for.
 *
 * @see /work/shared/reference/standards.md section 4 ("What an incremental client MUST do with transactionTime")
 */

const warehouse = useTestWarehouse(test, { noDeadlocks: true });

const FIRST = '2026-02-01T10:00:00.000Z';
const SECOND = '2026-02-02T10:00:00.000Z';

/** Every kick-off is accepted as job1, whose manifest lists no file. */
function emptyExports(s: BulkServer) {
  s.route('GET', '/fhir/$export', kickOffAccepted(s));
  s.route('GET', '/status/job1', {
    status: 200,
    json: { transactionTime: FIRST, requiresAccessToken: false, output: [], error: [] },
  });
  s.route('DELETE', '/status/job1', { status: 202 });
}

test('adding a type to export.types makes the next export a full one (no _since); an unchanged config keeps _since', async (t) => {
  const s = await scriptedServer(t);
  emptyExports(s);
  const { logger, lines } = captureLogger();
  const patients = bulkSource(s, 'scope', { types: ['Patient'] });
  const withCoverage = bulkSource(s, 'scope', { types: ['Patient', 'Coverage'] });

  for (const src of [patients, patients, withCoverage, withCoverage]) {
    const result = await runBulk(warehouse.db, src, { logger });
    t.is(result.status, 'succeeded', result.error);
  }

  t.deepEqual(sinces(s), [null, FIRST, null, FIRST]);
  const changed = lines.filter((l) => l.event === 'bulk.parameters_changed');
  t.is(changed.length, 1);
  t.regex(String(changed[0]?.msg), /parameters .* changed since the checkpoint .*no _since/);
});

test('the order of export.types does not change what is exported: _since is kept', async (t) => {
  const s = await scriptedServer(t);
  emptyExports(s);

  await runBulk(warehouse.db, bulkSource(s, 'order', { types: ['Patient', 'Coverage'] }));
  await runBulk(warehouse.db, bulkSource(s, 'order', { types: ['Coverage', 'Patient'] }));

  t.deepEqual(sinces(s), [null, FIRST]);
});

test('a checkpoint written before fingerprints existed is taken as matching', async (t) => {
  const s = await scriptedServer(t);
  emptyExports(s);
  await runBulk(warehouse.db, bulkSource(s, 'legacy', { types: ['Patient'] }));
  await warehouse.db.query(
    sql`DELETE FROM fhir_etl.checkpoints WHERE source = 'legacy' AND scope = 'bulk:parameters'`,
  );

  await runBulk(warehouse.db, bulkSource(s, 'legacy', { types: ['Patient', 'Coverage'] }));

  t.deepEqual(sinces(s), [null, FIRST]);
});

test('an unfinished export kicked off under other parameters is abandoned and cancelled, not resumed', async (t) => {
  const s = await scriptedServer(t);
  const shutdown = new AbortController();
  s.route('GET', '/fhir/Group/g1/$export', {
    status: 202,
    headers: { 'content-location': `${s.url}/status/old` },
  });
  s.route('GET', '/fhir/Group/g2/$export', {
    status: 202,
    headers: { 'content-location': `${s.url}/status/new` },
  });
  s.route('GET', '/status/old', () => {
    shutdown.abort();
    return { status: 202, headers: { 'retry-after': '0' } };
  });
  s.route('DELETE', '/status/old', { status: 202 });
  s.route('GET', '/status/new', {
    status: 200,
    json: { transactionTime: FIRST, requiresAccessToken: false, output: [], error: [] },
  });
  s.route('DELETE', '/status/new', { status: 202 });
  const stopped = await runBulk(
    warehouse.db,
    bulkSource(s, 'reconfigured', { groupId: 'g1', level: 'group' }),
    {
      signal: shutdown.signal,
    },
  );
  t.is(stopped.status, 'failed');

  const result = await runBulk(
    warehouse.db,
    bulkSource(s, 'reconfigured', { groupId: 'g2', level: 'group' }),
  );

  t.is(result.status, 'succeeded', result.error);
  t.true(s.requests.some((r) => r.method === 'DELETE' && r.path === '/status/old'));
  const exports: Array<{ state: string; error: string | null }> = await warehouse.db.query(
    sql`SELECT state, error FROM fhir_etl.bulk_exports WHERE source = 'reconfigured' ORDER BY id`,
  );
  t.deepEqual(
    exports.map((e) => e.state),
    ['abandoned', 'completed'],
  );
  t.regex(exports[0]?.error ?? '', /export parameters .* changed/);
  t.is(
    s.requests.filter((r) => r.path === '/status/old' && r.method === 'GET').length,
    1,
    'never polled again',
  );
});

/** An export (job2) whose error file reports one issue of the given severity, after a clean one (job1). */
function exportWithIssue(s: BulkServer, severity: string) {
  s.route('GET', '/fhir/$export', kickOffAccepted(s), kickOffAccepted(s, 'job2'), kickOffAccepted(s, 'job3'));
  const json = (transactionTime: string, error: unknown[]) => ({
    status: 200,
    json: {
      transactionTime,
      requiresAccessToken: false,
      output: [{ type: 'Patient', url: `${s.url}/files/p.ndjson` }],
      error,
    },
  });
  s.route('GET', '/status/job1', json(FIRST, []));
  s.route(
    'GET',
    '/status/job2',
    json(SECOND, [{ type: 'OperationOutcome', url: `${s.url}/files/errors.ndjson` }]),
  );
  s.route('GET', '/status/job3', json(SECOND, []));
  s.route('GET', '/files/p.ndjson', { status: 200, body: ndjson('Patient', 2) });
  s.route('GET', '/files/errors.ndjson', {
    status: 200,
    body: `${JSON.stringify(outcome('processing', 'Coverage/c9 could not be exported', severity))}\n`,
  });
  for (const job of ['job1', 'job2', 'job3']) s.route('DELETE', `/status/${job}`, { status: 202 });
}

for (const severity of ['error', 'fatal']) {
  test(`an error file with a ${severity} issue loads the data but fails the run and keeps the watermark`, async (t) => {
    const s = await scriptedServer(t);
    exportWithIssue(s, severity);
    const name = `held-${severity}`;
    t.is((await runBulk(warehouse.db, bulkSource(s, name))).status, 'succeeded');

    const held = await runBulk(warehouse.db, bulkSource(s, name));

    t.is(held.status, 'failed');
    t.regex(
      held.error ?? '',
      /1 issue\(s\) of severity error or fatal .* checkpoint did not advance \(it stays at 2026-02-01T10:00:00.000Z\).*fhir-etl status.*fhir_etl\.bulk_errors WHERE export_id = \d+/,
    );
    t.is(await checkpoint(warehouse.db, name), FIRST);
    const [job] = await warehouse.db.query(
      sql`SELECT state FROM fhir_etl.bulk_exports WHERE source = ${name} ORDER BY id DESC LIMIT 1`,
    );
    t.is(job.state, 'failed');
    t.true(s.requests.some((r) => r.method === 'DELETE' && r.path === '/status/job2'));
    const [files] = await warehouse.db.query(
      sql`SELECT count(*)::int AS n FROM fhir_etl.bulk_files f JOIN fhir_etl.bulk_exports e ON e.id = f.export_id
          WHERE e.source = ${name} AND f.state = 'committed'`,
    );
    t.is(files.n, 3, 'the data files committed');

    const next = await runBulk(warehouse.db, bulkSource(s, name));

    t.is(next.status, 'succeeded', next.error);
    t.deepEqual(sinces(s), [null, FIRST, FIRST], 'the next run exports again from the old watermark');
    t.is(await checkpoint(warehouse.db, name), SECOND);
  });
}

test('an error file with only information and warning issues advances the watermark', async (t) => {
  const s = await scriptedServer(t);
  exportWithIssue(s, 'warning');
  t.is((await runBulk(warehouse.db, bulkSource(s, 'warned'))).status, 'succeeded');

  const warned = await runBulk(warehouse.db, bulkSource(s, 'warned'));

  t.is(warned.status, 'succeeded', warned.error);
  t.is(await checkpoint(warehouse.db, 'warned'), SECOND);
  const [issue] = await warehouse.db.query(
    sql`SELECT severity FROM fhir_etl.bulk_errors WHERE source = 'warned'`,
  );
  t.is(issue.severity, 'warning');
});

test('with export.errorIssues: record, an error issue is kept in bulk_errors and the watermark advances', async (t) => {
  const s = await scriptedServer(t);
  exportWithIssue(s, 'error');
  const config = bulkSource(s, 'recorded', { errorIssues: 'record' });
  t.is((await runBulk(warehouse.db, config)).status, 'succeeded');

  const recorded = await runBulk(warehouse.db, config);

  t.is(recorded.status, 'succeeded', recorded.error);
  t.is(await checkpoint(warehouse.db, 'recorded'), SECOND);
  const [issue] = await warehouse.db.query(
    sql`SELECT severity, diagnostics FROM fhir_etl.bulk_errors WHERE source = 'recorded'`,
  );
  t.like(issue, { severity: 'error', diagnostics: 'Coverage/c9 could not be exported' });
});
