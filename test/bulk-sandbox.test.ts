import { sql } from '@databases/pg';
import test from 'ava';
import { DEFAULT_CLIENTS, type Sandbox, startSandbox } from '../sandbox/index.ts';
import { captureLogger, runBulk } from './helpers/bulk-server.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

/** End to end against the sandbox: 1up-like Provider Access, client credentials, real files. */

const warehouse = useTestWarehouse(test, { noDeadlocks: true });

function sourceFor(sandbox: Sandbox, name: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    baseUrl: sandbox.providerBaseUrl,
    export: { maxPollIntervalSeconds: 0.05, concurrency: 3, ...((extra.export as object) ?? {}) },
    auth: {
      type: 'client_credentials',
      tokenUrl: sandbox.tokenUrl,
      clientId: DEFAULT_CLIENTS.provider.clientId,
      clientSecret: DEFAULT_CLIENTS.provider.clientSecret,
      scope: 'bulk-data|user/*.rs',
    },
  };
}

async function rawCounts(source: string): Promise<Record<string, number>> {
  const tables: Array<{ resource_type: string; table_name: string }> = await warehouse.db.query(
    sql`SELECT resource_type, table_name FROM fhir_etl.raw_tables ORDER BY resource_type`,
  );
  const counts: Record<string, number> = {};
  for (const t of tables) {
    const [row] = await warehouse.db.query(
      sql`SELECT count(*)::int AS n FROM fhir_raw.${sql.ident(t.table_name)} WHERE source = ${source} AND NOT deleted`,
    );
    if (row.n > 0) counts[t.resource_type] = row.n;
  }
  return counts;
}

async function deletedResources(source: string): Promise<Array<{ resource_type: string; id: string }>> {
  const tables: Array<{ resource_type: string; table_name: string }> = await warehouse.db.query(
    sql`SELECT resource_type, table_name FROM fhir_etl.raw_tables`,
  );
  const deleted: Array<{ resource_type: string; id: string }> = [];
  for (const t of tables) {
    const rows: Array<{ id: string }> = await warehouse.db.query(
      sql`SELECT id FROM fhir_raw.${sql.ident(t.table_name)} WHERE source = ${source} AND deleted`,
    );
    deleted.push(...rows.map((r) => ({ resource_type: t.resource_type, id: r.id })));
  }
  return deleted;
}

async function manifestCounts(source: string): Promise<Record<string, number>> {
  const rows: Array<{ resource_type: string; n: number }> = await warehouse.db.query(sql`
    SELECT f.resource_type, sum(f.count)::int AS n FROM fhir_etl.bulk_files f
    JOIN fhir_etl.bulk_exports e ON e.id = f.export_id
    WHERE e.source = ${source} AND f.kind = 'output' AND e.id = (SELECT max(id) FROM fhir_etl.bulk_exports WHERE source = ${source})
    GROUP BY f.resource_type`);
  return Object.fromEntries(rows.map((r) => [r.resource_type, r.n]));
}

test.serial(
  'a run loads exactly the resources its manifest lists, per type, into fhir_raw and the views',
  async (t) => {
    const sandbox = await startSandbox({ patients: 12, retryAfterSeconds: 0, pollsBeforeReady: 2 });
    t.teardown(() => sandbox.close());

    const result = await runBulk(warehouse.db, sourceFor(sandbox, 'full'));

    t.is(result.status, 'succeeded', result.error);
    const expected = await manifestCounts('full');
    t.true(Object.keys(expected).length > 3);
    t.deepEqual(await rawCounts('full'), expected);
    const [patients] = await warehouse.db.query(
      sql`SELECT count(*)::int AS n FROM fhir.patient WHERE _source = 'full'`,
    );
    t.is(patients.n, expected.Patient);
    const [job] = await warehouse.db.query(
      sql`SELECT state, transaction_time FROM fhir_etl.bulk_exports WHERE source = 'full'`,
    );
    t.is(job.state, 'completed');
    const [checkpoint] = await warehouse.db.query(
      sql`SELECT value FROM fhir_etl.checkpoints WHERE source = 'full' AND scope = 'bulk:transactionTime'`,
    );
    t.is(checkpoint.value, job.transaction_time);
    t.true(sandbox.requests.some((r) => r.method === 'DELETE' && r.url.includes('/bulkstatus/')));
  },
);

test.serial(
  'a second run with nothing changed loads nothing; after advance() it loads only the delta and applies the deletes',
  async (t) => {
    const sandbox = await startSandbox({ patients: 10, retryAfterSeconds: 0, pollsBeforeReady: 0 });
    t.teardown(() => sandbox.close());
    const source = sourceFor(sandbox, 'incremental');
    const first = await runBulk(warehouse.db, source);
    t.is(first.status, 'succeeded', first.error);
    const [{ value: firstTime }] = await warehouse.db.query(
      sql`SELECT value FROM fhir_etl.checkpoints WHERE source = 'incremental'`,
    );

    const unchanged = await runBulk(warehouse.db, source);

    t.is(unchanged.status, 'succeeded', unchanged.error);
    t.is(unchanged.resources, 0);
    const kickOffs = sandbox.requests.filter((r) => r.url.includes('$export'));
    t.true(decodeURIComponent(kickOffs[1]?.url ?? '').includes(`_since=${firstTime}`));

    const before = await rawCounts('incremental');
    sandbox.advance();
    const delta = await runBulk(warehouse.db, source);

    t.is(delta.status, 'succeeded', delta.error);
    const listed = await manifestCounts('incremental');
    const listedTotal = Object.values(listed).reduce((a, b) => a + b, 0);
    t.true(listedTotal > 0);
    t.is(delta.resources, listedTotal);
    t.true(delta.resources < Object.values(before).reduce((a, b) => a + b, 0));
    const deleted = await deletedResources('incremental');
    const deletedFiles: Array<{ n: number }> = await warehouse.db.query(sql`
    SELECT count(*)::int AS n FROM fhir_etl.bulk_files f JOIN fhir_etl.bulk_exports e ON e.id = f.export_id
    WHERE e.source = 'incremental' AND f.kind = 'deleted' AND f.state = 'committed'`);
    t.true((deletedFiles[0]?.n ?? 0) > 0);
    t.true(deleted.length > 0, 'the sandbox deletes some resources on advance()');
    const views: Array<{ name: string; resource_type: string; table_schema: string }> =
      await warehouse.db.query(sql`SELECT name, resource_type, table_schema FROM fhir_etl.views`);
    for (const d of deleted) {
      for (const view of views.filter((v) => v.resource_type === d.resource_type)) {
        const rows = await warehouse.db.query(
          sql`SELECT 1 FROM ${sql.ident(view.table_schema, view.name)} WHERE _source = 'incremental' AND _resource_id = ${d.id}`,
        );
        t.is(rows.length, 0, `rows of deleted ${d.resource_type}/${d.id} are gone from ${view.name}`);
      }
    }
  },
);

test.serial(
  'a token that expires in the middle of the downloads is renewed and every file still loads',
  async (t) => {
    const sandbox = await startSandbox({ patients: 8, retryAfterSeconds: 0, faults: 'token-expiry' });
    t.teardown(() => sandbox.close());

    const result = await runBulk(warehouse.db, sourceFor(sandbox, 'expiry'));

    t.is(result.status, 'succeeded', result.error);
    t.true(sandbox.requests.some((r) => r.status === 401 && r.url.includes('/bulk-files/')));
    t.deepEqual(await rawCounts('expiry'), await manifestCounts('expiry'));
    const tokenRequests = sandbox.requests.filter((r) => r.url.includes('/token'));
    t.true(tokenRequests.length >= 2, 'a new token was minted after the 401');
  },
);

test.serial(
  '429 and transient 500 on polls, 410 on files and cut-off gzip bodies are all survived with exact counts',
  async (t) => {
    const sandbox = await startSandbox({
      patients: 8,
      retryAfterSeconds: 0,
      faults: '429,500,410,truncated-gzip',
    });
    t.teardown(() => sandbox.close());
    const { logger, lines } = captureLogger();

    const result = await runBulk(warehouse.db, sourceFor(sandbox, 'faults'), { logger });

    t.is(result.status, 'succeeded', result.error);
    t.deepEqual(await rawCounts('faults'), await manifestCounts('faults'));
    t.true(sandbox.requests.some((r) => r.status === 429));
    t.true(sandbox.requests.some((r) => r.status === 500));
    t.true(sandbox.requests.some((r) => r.status === 410));
    t.true(lines.some((l) => l.event === 'bulk.file_expired'));
    t.true(lines.some((l) => l.event === 'bulk.file_retry' && /cut off|truncated/.test(String(l.reason))));
    const [rejects] = await warehouse.db.query(
      sql`SELECT count(*)::int AS n FROM fhir_etl.rejects WHERE source = 'faults'`,
    );
    t.is(rejects.n, 0, 'no half line of a cut-off body was loaded or rejected');
  },
);

test.serial('files on a separate origin get no token when the manifest does not require one', async (t) => {
  const sandbox = await startSandbox({
    patients: 5,
    retryAfterSeconds: 0,
    fileOrigin: 'separate',
    requiresAccessToken: false,
  });
  t.teardown(() => sandbox.close());

  const result = await runBulk(warehouse.db, sourceFor(sandbox, 'capability'));

  t.is(result.status, 'succeeded', result.error);
  const fileRequests = sandbox.requests.filter(
    (r) => r.origin === new URL(sandbox.fileOriginUrl).origin || r.url.includes('/bulk-files/'),
  );
  t.true(fileRequests.length > 0);
  t.true(fileRequests.every((r) => r.authorization === undefined));
});

test.serial(
  'a token-requiring file on another origin fails the run with a security error, and the token never reaches it',
  async (t) => {
    const sandbox = await startSandbox({
      patients: 5,
      retryAfterSeconds: 0,
      fileOrigin: 'separate',
      requiresAccessToken: true,
    });
    t.teardown(() => sandbox.close());

    const refused = await runBulk(warehouse.db, sourceFor(sandbox, 'cdn'));

    t.is(refused.status, 'failed');
    t.regex(refused.error ?? '', /security: .*token/);
    t.false(
      sandbox.requests.some((r) => r.url.includes('/bulk-files/')),
      'no file request at all',
    );

    const allowed = await runBulk(warehouse.db, {
      ...sourceFor(sandbox, 'cdn'),
      export: { maxPollIntervalSeconds: 0.05, tokenHosts: [sandbox.fileOriginUrl] },
    });
    t.is(allowed.status, 'succeeded', allowed.error);
    const [job] = await warehouse.db.query(
      sql`SELECT count(*)::int AS n FROM fhir_etl.bulk_exports WHERE source = 'cdn'`,
    );
    t.is(job.n, 1, 'the allowed run resumed the same export');
  },
);
