import { sql } from '@databases/pg';
import test from 'ava';
import { type BulkServer, type LoggedRequest, ndjson, runBulk } from './helpers/bulk-server.ts';
import { kickOffAccepted, scriptedServer } from './helpers/bulk-run.ts';
import { startTokenServer, type TokenServer } from './helpers/token-server.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

/**
 * A 401 is about the token, never the export (issue 17): a status re-poll refused twice, the
 * second time because a concurrent download's 401 revoked the fresh token, renews again and
 * goes on; concurrent renewals share one token request; a token refused through the whole
 * retry budget fails the run but leaves the export resumable.
 */

const warehouse = useTestWarehouse(test, { noDeadlocks: true });

const TRANSACTION_TIME = '2026-02-01T10:00:00.000Z';

async function tokenServer(t: { teardown(fn: () => Promise<void>): void }): Promise<TokenServer> {
  const server = await startTokenServer();
  t.teardown(server.close);
  return server;
}

function source(s: BulkServer, tokens: TokenServer, name: string, concurrency = 1) {
  return {
    name,
    baseUrl: `${s.url}/fhir`,
    export: { maxPollIntervalSeconds: 0.05, concurrency },
    auth: { type: 'client_credentials', tokenUrl: tokens.tokenUrl, clientId: 'c', clientSecret: 's' },
  };
}

function manifest(s: BulkServer, files: string[]) {
  return {
    status: 200,
    json: {
      transactionTime: TRANSACTION_TIME,
      requiresAccessToken: true,
      output: files.map((f) => ({ type: 'Patient', url: `${s.url}/files/${f}` })),
      error: [],
    },
  };
}

function unauthorized() {
  return { status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } };
}

async function exportState(name: string): Promise<string> {
  const [row] = await warehouse.db.query(
    sql`SELECT state FROM fhir_etl.bulk_exports WHERE source = ${name} ORDER BY id DESC LIMIT 1`,
  );
  return row.state;
}

test('a status re-poll after a 410 that gets a second 401 renews the token again and the export completes', async (t) => {
  const s = await scriptedServer(t);
  const tokens = await tokenServer(t);
  s.route('GET', '/fhir/$export', kickOffAccepted(s));
  // The first manifest; then, asked again after the 410, 401 twice (each token revoked), then the manifest.
  s.route(
    'GET',
    '/status/job1',
    manifest(s, ['p.ndjson']),
    unauthorized(),
    unauthorized(),
    manifest(s, ['p.ndjson']),
  );
  s.route(
    'GET',
    '/files/p.ndjson',
    { status: 410, body: 'expired' },
    { status: 200, body: ndjson('Patient', 3) },
  );
  s.route('DELETE', '/status/job1', { status: 202 });

  const result = await runBulk(warehouse.db, source(s, tokens, 'repoll'));

  t.is(result.status, 'succeeded', result.error);
  t.is(await exportState('repoll'), 'completed');
  const polls = s.requests.filter((r) => r.method === 'GET' && r.path === '/status/job1');
  t.deepEqual(
    polls.map((r) => r.authorization),
    ['Bearer token-1', 'Bearer token-1', 'Bearer token-2', 'Bearer token-3'],
  );
});

test('files refused with 401 at once share one token renewal', async (t) => {
  const s = await scriptedServer(t);
  const tokens = await tokenServer(t);
  const files = ['a.ndjson', 'b.ndjson', 'c.ndjson', 'd.ndjson'];
  s.route('GET', '/fhir/$export', kickOffAccepted(s));
  s.route('GET', '/status/job1', manifest(s, files));
  s.route('DELETE', '/status/job1', { status: 202 });
  for (const [i, file] of files.entries()) {
    s.route('GET', `/files/${file}`, (req: LoggedRequest) =>
      req.authorization === 'Bearer token-1'
        ? unauthorized()
        : { status: 200, body: ndjson('Patient', 2, `f${i}-`) },
    );
  }

  const result = await runBulk(warehouse.db, source(s, tokens, 'shared-renewal', 4));

  t.is(result.status, 'succeeded', result.error);
  t.is(tokens.issued(), 2, 'one token, then one renewal shared by the four refused downloads');
});

test('a status URL that refuses every fresh token fails the run, but the export is not failed: the next run resumes it', async (t) => {
  const s = await scriptedServer(t);
  const tokens = await tokenServer(t);
  s.route('GET', '/fhir/$export', kickOffAccepted(s));
  s.route('GET', '/status/job1', unauthorized());
  s.route('DELETE', '/status/job1', { status: 202 });

  const refused = await runBulk(warehouse.db, source(s, tokens, 'refused'));

  t.is(refused.status, 'failed');
  t.regex(refused.error ?? '', /answered 401.*fresh token was refused too/);
  t.is(await exportState('refused'), 'polling', 'not failed: a 401 is no verdict on the export');

  s.route('GET', '/status/job1', manifest(s, []));
  const resumed = await runBulk(warehouse.db, source(s, tokens, 'refused'));

  t.is(resumed.status, 'succeeded', resumed.error);
  t.is(s.requests.filter((r) => r.path.includes('$export')).length, 1, 'the same export, resumed');
});
