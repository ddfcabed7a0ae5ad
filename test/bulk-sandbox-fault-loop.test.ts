import { sql } from '@databases/pg';
import test from 'ava';
import { DEFAULT_CLIENTS, startSandbox } from '../sandbox/index.ts';
import { runBulk } from './helpers/bulk-server.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

/**
 * Issue 17's three-fault combination against the sandbox: every file's first link expires
 * (410, so the status URL is polled again), every file's first download revokes the token
 * (token-expiry, so a status re-poll may meet a token a concurrent download just revoked), and
 * bodies trickle (slow, so downloads overlap). Five runs, each completing in one go.
 */

const warehouse = useTestWarehouse(test, { noDeadlocks: true, poolSize: 8 });

async function rawCount(source: string): Promise<number> {
  const tables: Array<{ table_name: string }> = await warehouse.db.query(
    sql`SELECT table_name FROM fhir_etl.raw_tables`,
  );
  let total = 0;
  for (const t of tables) {
    const [row] = await warehouse.db.query(
      sql`SELECT count(*)::int AS n FROM fhir_raw.${sql.ident(t.table_name)} WHERE source = ${source}`,
    );
    total += row.n;
  }
  return total;
}

test('410 + token-expiry + slow, five runs in a row: each completes in one go with exact counts', async (t) => {
  const sandbox = await startSandbox({ patients: 6, retryAfterSeconds: 0, faults: '410,token-expiry,slow' });
  t.teardown(() => sandbox.close());

  for (let trial = 1; trial <= 5; trial++) {
    const name = `faults-${trial}`;
    const result = await runBulk(warehouse.db, {
      name,
      baseUrl: sandbox.providerBaseUrl,
      export: { maxPollIntervalSeconds: 0.05, concurrency: 4 },
      auth: {
        type: 'client_credentials',
        tokenUrl: sandbox.tokenUrl,
        clientId: DEFAULT_CLIENTS.provider.clientId,
        clientSecret: DEFAULT_CLIENTS.provider.clientSecret,
        scope: 'bulk-data|user/*.rs',
      },
    });

    t.is(result.status, 'succeeded', `trial ${trial}: ${result.error}`);
    const [listed] = await warehouse.db.query(sql`
      SELECT sum(f.count)::int AS n, count(DISTINCT e.id)::int AS exports FROM fhir_etl.bulk_files f
      JOIN fhir_etl.bulk_exports e ON e.id = f.export_id WHERE e.source = ${name} AND f.kind = 'output'`);
    t.is(listed.exports, 1, `trial ${trial}: one export, no second kick-off`);
    t.is(await rawCount(name), listed.n, `trial ${trial}: every resource the manifest listed, once`);
    const [rejects] = await warehouse.db.query(
      sql`SELECT count(*)::int AS n FROM fhir_etl.rejects WHERE source = ${name}`,
    );
    t.is(rejects.n, 0);
  }
  t.true(sandbox.requests.some((r) => r.status === 401 && r.url.includes('/bulk-files/')));
  t.true(sandbox.requests.some((r) => r.status === 410));
});
