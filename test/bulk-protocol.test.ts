import { sql } from '@databases/pg';
import test from 'ava';
import {
  type BulkServer,
  captureLogger,
  deletedBundle,
  ndjson,
  outcome,
  runBulk,
} from './helpers/bulk-server.ts';
import { bulkSource, kickOffAccepted, scriptedServer, sinces } from './helpers/bulk-run.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

/**
 * The protocol's edge cases against a scripted local server: what real Bulk Data servers do
 * that the sandbox does not (paged and STU4 manifests, odd Retry-After values, 405, failures).
 */

const warehouse = useTestWarehouse(test, { noDeadlocks: true });

const TRANSACTION_TIME = '2026-02-01T10:00:00.000Z';

function manifest(s: BulkServer, body: Record<string, unknown>) {
  return {
    status: 200,
    json: {
      transactionTime: TRANSACTION_TIME,
      request: `${s.url}/fhir/$export`,
      requiresAccessToken: false,
      error: [],
      ...body,
    },
  };
}

async function count(table: string, sourceName: string): Promise<number> {
  const [row] = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM ${sql.ident('fhir_raw', table)} WHERE source = ${sourceName} AND NOT deleted`,
  );
  return row.n;
}

test('a paged manifest (link next) is followed, in STU4 shape: outcome, extension array, no request', async (t) => {
  const s = await scriptedServer(t);
  s.route('GET', '/fhir/$export', kickOffAccepted(s));
  s.route('GET', '/status/job1', {
    status: 200,
    json: {
      transactionTime: TRANSACTION_TIME,
      requiresAccessToken: false,
      output: [{ type: 'Patient', url: `${s.url}/files/p1.ndjson` }],
      outcome: [{ type: 'OperationOutcome', url: `${s.url}/files/outcome.ndjson` }],
      extension: [{ url: 'http://example.org/ext', valueString: 'stu4' }],
      link: [{ relation: 'next', url: `${s.url}/status/job1/page2` }],
    },
  });
  s.route(
    'GET',
    '/status/job1/page2',
    manifest(s, { output: [{ type: 'Patient', url: `${s.url}/files/p2.ndjson` }] }),
  );
  s.route('GET', '/files/p1.ndjson', { status: 200, body: ndjson('Patient', 3, 'a') });
  s.route('GET', '/files/p2.ndjson', { status: 200, body: ndjson('Patient', 4, 'b') });
  s.route('GET', '/files/outcome.ndjson', {
    status: 200,
    body: `${JSON.stringify(outcome('processing', 'Patient/zz was exported without its photo', 'warning'))}\n`,
  });
  s.route('DELETE', '/status/job1', { status: 202 });

  const result = await runBulk(warehouse.db, bulkSource(s, 'paged'));

  t.is(result.status, 'succeeded', result.error);
  t.is(await count('patient', 'paged'), 7);
  const errors = await warehouse.db.query(
    sql`SELECT resource_type, severity, code, diagnostics FROM fhir_etl.bulk_errors WHERE source = 'paged'`,
  );
  t.deepEqual(errors, [
    {
      resource_type: 'Patient',
      severity: 'warning',
      code: 'processing',
      diagnostics: 'Patient/zz was exported without its photo',
    },
  ]);
  const [job] = await warehouse.db.query(
    sql`SELECT state, transaction_time FROM fhir_etl.bulk_exports WHERE source = 'paged'`,
  );
  t.deepEqual(job, { state: 'completed', transaction_time: TRANSACTION_TIME });
});

test('Retry-After as an epoch timestamp or hours is clamped to the cap and logged; an HTTP-date is honoured', async (t) => {
  const s = await scriptedServer(t);
  s.route('GET', '/fhir/$export', kickOffAccepted(s));
  const past = new Date(Date.now() - 60_000).toUTCString();
  s.route(
    'GET',
    '/status/job1',
    { status: 202, headers: { 'retry-after': '1767225600', 'x-progress': 'counting members' } },
    { status: 429, headers: { 'retry-after': '7200' } },
    { status: 202, headers: { 'retry-after': past, 'x-progress': '50% done' } },
    manifest(s, { output: [{ type: 'Patient', url: `${s.url}/files/p.ndjson` }] }),
  );
  s.route('GET', '/files/p.ndjson', { status: 200, body: ndjson('Patient', 2) });
  s.route('DELETE', '/status/job1', { status: 202 });
  const { logger, lines } = captureLogger();

  const result = await runBulk(warehouse.db, bulkSource(s, 'retry-after'), { logger });

  t.is(result.status, 'succeeded', result.error);
  const clamped = lines.filter((l) => l.event === 'bulk.retry_after_clamped');
  t.deepEqual(
    clamped.map((l) => [l.retryAfterMs, l.waitMs]),
    [[1_767_225_600_000, 50]],
    'the first clamp is logged; the next is counted',
  );
  const repeated = lines.filter((l) => l.event === 'bulk.retry_after_clamped_repeated');
  t.deepEqual(
    repeated.map((l) => [l.times, l.maxRetryAfterMs, l.waitMs]),
    [[2, 1_767_225_600_000, 50]],
  );
  t.deepEqual(
    lines.filter((l) => l.event === 'bulk.progress').map((l) => l.progress),
    ['counting members', '50% done'],
  );
  t.is(s.requests.filter((r) => r.path.startsWith('/status/job1') && r.method === 'GET').length, 4);
});

test('a server that answers the GET kick-off with 405 is asked again by POST with a Parameters body', async (t) => {
  const s = await scriptedServer(t);
  s.route('GET', '/fhir/Group/g1/$export', { status: 405, json: outcome('not-supported', 'use POST') });
  s.route('POST', '/fhir/Group/g1/$export', kickOffAccepted(s));
  s.route('GET', '/status/job1', manifest(s, { output: [] }));
  s.route('DELETE', '/status/job1', { status: 202 });

  const result = await runBulk(
    warehouse.db,
    bulkSource(s, 'post-only', {
      level: 'group',
      groupId: 'g1',
      types: ['Patient', 'Coverage'],
      typeFilters: ['Coverage?status=active'],
    }),
    { request: { since: '2026-01-01T00:00:00Z' } },
  );

  t.is(result.status, 'succeeded', result.error);
  const post = s.requests.find((r) => r.method === 'POST');
  t.deepEqual(JSON.parse(post?.body ?? '{}'), {
    resourceType: 'Parameters',
    parameter: [
      { name: '_outputFormat', valueString: 'application/fhir+ndjson' },
      { name: '_since', valueInstant: '2026-01-01T00:00:00Z' },
      { name: '_type', valueString: 'Patient,Coverage' },
      { name: '_typeFilter', valueString: 'Coverage?status=active' },
    ],
  });
  const [checkpoint] = await warehouse.db.query(
    sql`SELECT value FROM fhir_etl.checkpoints WHERE source = 'post-only'`,
  );
  t.is(checkpoint.value, TRANSACTION_TIME, 'an export with no files still advances the watermark');
});

test('$davinci-data-export is a POST with exportType and the patient references', async (t) => {
  const s = await scriptedServer(t);
  s.route('POST', '/fhir/Group/g7/$davinci-data-export', kickOffAccepted(s));
  s.route('GET', '/status/job1', manifest(s, { output: [] }));
  s.route('DELETE', '/status/job1', { status: 202 });

  const result = await runBulk(
    warehouse.db,
    bulkSource(s, 'davinci', {
      level: 'group',
      groupId: 'g7',
      operation: 'davinci-data-export',
      exportType: 'hl7.fhir.us.davinci-pdex#provider-download',
      patients: ['Patient/1'],
    }),
  );

  t.is(result.status, 'succeeded', result.error);
  const body = JSON.parse(s.requests.find((r) => r.method === 'POST')?.body ?? '{}');
  t.deepEqual(body.parameter.slice(1), [
    { name: 'patient', valueReference: { reference: 'Patient/1' } },
    { name: 'exportType', valueCanonical: 'hl7.fhir.us.davinci-pdex#provider-download' },
  ]);
});

test('a transient 500 on a poll is retried; a fatal one fails the run with the server diagnostics', async (t) => {
  const s = await scriptedServer(t);
  s.route('GET', '/fhir/$export', kickOffAccepted(s));
  s.route(
    'GET',
    '/status/job1',
    { status: 500, json: outcome('transient', 'database busy, try again') },
    { status: 500, json: outcome('exception', 'export job crashed: out of disk space on node 3') },
  );

  const result = await runBulk(warehouse.db, bulkSource(s, 'fatal'));

  t.is(result.status, 'failed');
  t.regex(result.error ?? '', /export job crashed: out of disk space on node 3/);
  t.is(s.requests.filter((r) => r.path === '/status/job1').length, 2);
  const [job] = await warehouse.db.query(
    sql`SELECT state, error FROM fhir_etl.bulk_exports WHERE source = 'fatal'`,
  );
  t.is(job.state, 'failed');
  t.regex(job.error, /out of disk space/);
});

test('a refused kick-off fails the run quoting the OperationOutcome', async (t) => {
  const s = await scriptedServer(t);
  s.route('GET', '/fhir/$export', { status: 400, json: outcome('invalid', '_type Foo is not supported') });

  const result = await runBulk(warehouse.db, bulkSource(s, 'refused'));

  t.is(result.status, 'failed');
  t.regex(result.error ?? '', /kick-off .* failed \(400\).*_type Foo is not supported/);
});

test('the token goes to the FHIR server only: a foreign file host that needs it fails the run and never sees it', async (t) => {
  const fhir = await scriptedServer(t);
  const cdn = await scriptedServer(t);
  fhir.route('POST', '/token', {
    status: 200,
    json: { access_token: 'secret-token-123', token_type: 'bearer', expires_in: 300 },
  });
  fhir.route('GET', '/fhir/$export', kickOffAccepted(fhir));
  fhir.route('GET', '/status/job1', {
    status: 200,
    json: {
      transactionTime: TRANSACTION_TIME,
      requiresAccessToken: true,
      output: [{ type: 'Patient', url: `${cdn.url}/p.ndjson` }],
      error: [],
    },
  });
  cdn.route('GET', '/p.ndjson', { status: 200, body: ndjson('Patient', 1) });

  const result = await runBulk(warehouse.db, {
    ...bulkSource(fhir, 'foreign'),
    auth: { type: 'client_credentials', tokenUrl: `${fhir.url}/token`, clientId: 'c', clientSecret: 's' },
  });

  t.is(result.status, 'failed');
  t.regex(result.error ?? '', /^security: .*127\.0\.0\.1:\d+.*export\.tokenHosts/);
  t.false((result.error ?? '').includes('secret-token-123'));
  t.deepEqual(cdn.requests, [], 'not one request reached the other origin');
  t.true(
    fhir.requests
      .filter((r) => r.path.startsWith('/status'))
      .every((r) => r.authorization === 'Bearer secret-token-123'),
  );
  const [job] = await warehouse.db.query(
    sql`SELECT state, error FROM fhir_etl.bulk_exports WHERE source = 'foreign'`,
  );
  t.is(job.state, 'downloading', 'the export stays resumable once the host is allowed');
});

test('deleted files remove the resources; a later copy with a newer lastUpdated revives them', async (t) => {
  const s = await scriptedServer(t);
  s.route(
    'GET',
    '/fhir/$export',
    kickOffAccepted(s, 'full'),
    kickOffAccepted(s, 'delta'),
    kickOffAccepted(s, 'revive'),
  );
  s.route(
    'GET',
    '/status/full',
    manifest(s, { output: [{ type: 'Patient', url: `${s.url}/files/all.ndjson` }] }),
  );
  s.route('GET', '/files/all.ndjson', { status: 200, body: ndjson('Patient', 5, 'p'), gzip: true });
  s.route('GET', '/status/delta', {
    status: 200,
    json: {
      transactionTime: '2026-02-02T00:00:00Z',
      requiresAccessToken: false,
      output: [],
      deleted: [{ type: 'Bundle', url: `${s.url}/files/deleted.ndjson` }],
      error: [],
    },
  });
  s.route('GET', '/files/deleted.ndjson', {
    status: 200,
    body: deletedBundle(['Patient/p2', `${s.url}/fhir/Patient/p4/_history/3`]),
  });
  s.route('GET', '/status/revive', {
    status: 200,
    json: {
      transactionTime: '2026-02-03T00:00:00Z',
      requiresAccessToken: false,
      output: [{ type: 'Patient', url: `${s.url}/files/p2.ndjson` }],
      error: [],
    },
  });
  s.route('GET', '/files/p2.ndjson', {
    status: 200,
    body: ndjson('Patient', 2, 'p', '2026-02-02T12:00:00Z').split('\n')[1] as string,
  });
  for (const job of ['full', 'delta', 'revive']) s.route('DELETE', `/status/${job}`, { status: 202 });
  const src = bulkSource(s, 'deletes');

  t.is((await runBulk(warehouse.db, src)).status, 'succeeded');
  const delta = await runBulk(warehouse.db, src);

  t.is(delta.status, 'succeeded', delta.error);
  t.regex(
    decodeURIComponent(s.requests.filter((r) => r.path.includes('$export'))[1]?.path ?? ''),
    /_since=2026-02-01T10:00:00.000Z/,
  );
  t.is(await count('patient', 'deletes'), 3);
  const viewIds: Array<{ _resource_id: string }> = await warehouse.db.query(
    sql`SELECT _resource_id FROM fhir.patient WHERE _source = 'deletes' ORDER BY 1`,
  );
  t.deepEqual(
    viewIds.map((r) => r._resource_id),
    ['p1', 'p3', 'p5'],
  );

  const revived = await runBulk(warehouse.db, src);

  t.is(revived.status, 'succeeded', revived.error);
  t.is(await count('patient', 'deletes'), 4);
  const [p2] = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir.patient WHERE _source = 'deletes' AND _resource_id = 'p2'`,
  );
  t.is(p2.n, 1);
});

test('--full-refresh ignores the watermark and --since overrides it', async (t) => {
  const s = await scriptedServer(t);
  s.route('GET', '/fhir/$export', kickOffAccepted(s));
  s.route('GET', '/status/job1', manifest(s, { output: [] }));
  s.route('DELETE', '/status/job1', { status: 202 });
  const src = bulkSource(s, 'overrides');

  await runBulk(warehouse.db, src);
  await runBulk(warehouse.db, src, { request: { fullRefresh: true } });
  await runBulk(warehouse.db, src, { request: { since: '2025-06-01T00:00:00Z' } });
  await runBulk(warehouse.db, src);

  t.deepEqual(sinces(s), [null, null, '2025-06-01T00:00:00Z', TRANSACTION_TIME]);
});

test('a shutdown while polling stops the run and the next run resumes the same export', async (t) => {
  const s = await scriptedServer(t);
  const shutdown = new AbortController();
  s.route('GET', '/fhir/$export', kickOffAccepted(s));
  s.route('GET', '/status/job1', () => {
    shutdown.abort();
    return { status: 202, headers: { 'retry-after': '0' } };
  });

  const stoppedRun = await runBulk(warehouse.db, bulkSource(s, 'shutdown'), { signal: shutdown.signal });

  t.is(stoppedRun.status, 'failed');
  t.regex(stoppedRun.error ?? '', /stopped \(shutdown\).*resumes/);
  s.route(
    'GET',
    '/status/job1',
    manifest(s, { output: [{ type: 'Patient', url: `${s.url}/files/p.ndjson` }] }),
  );
  s.route('GET', '/files/p.ndjson', { status: 200, body: ndjson('Patient', 2, 'sd') });
  s.route('DELETE', '/status/job1', { status: 202 });
  const resumed = await runBulk(warehouse.db, bulkSource(s, 'shutdown'));

  t.is(resumed.status, 'succeeded', resumed.error);
  t.is(s.requests.filter((r) => r.path.includes('$export')).length, 1);
  t.is(await count('patient', 'shutdown'), 2);
});
