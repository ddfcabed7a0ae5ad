import { sql } from '@databases/pg';
import test, { type ExecutionContext } from 'ava';
import { pino } from 'pino';
import { runSources } from '../pipeline/run.ts';
import { createTestWarehouse, rows, type TestWarehouse } from './helpers/warehouse.ts';
import {
  loginAs,
  type PagingProxy,
  type PayerFixture,
  sandboxVersions,
  startProxiedPayer,
} from './helpers/payer.ts';

const logger = pino({ level: 'silent' });
const MEMBERS = ['01-testmemid', '02-testmemid'];

/** Two members logged in through a proxy whose paging links can expire; the first run fails at the third page. */
async function failedPartWay(t: ExecutionContext) {
  const warehouse: TestWarehouse = await createTestWarehouse();
  const { payer, proxy } = await startProxiedPayer({ resources: ['Observation'], pageSize: 2 });
  t.teardown(async () => {
    await payer.sandbox.close();
    await warehouse.drop();
  });
  for (const member of MEMBERS) await loginAs(warehouse.db, payer, member);
  proxy.intercept = (url) =>
    url.searchParams.get('_page') === '4'
      ? {
          status: 400,
          body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing' }] },
        }
      : undefined;
  const run = () => runSources(warehouse.db, payer.config, { logger }).then((results) => results[0]!);
  const failed = await run();
  t.is(failed.status, 'failed');
  proxy.intercept = undefined;
  t.is((await pagingStates(warehouse)).length, 2, 'each member has a search under way');
  return { warehouse, payer, proxy, run };
}

const pagingStates = (warehouse: TestWarehouse) =>
  rows<{ scope: string; value: string }>(
    warehouse.db,
    sql`SELECT scope, value FROM fhir_etl.checkpoints WHERE scope LIKE '%:paging' ORDER BY scope`,
  );

/** After the search: no state left half way, a cursor per member, and exactly the server's Observations. */
async function loadedExactly(
  t: ExecutionContext,
  warehouse: TestWarehouse,
  payer: PayerFixture,
  proxy: PagingProxy,
) {
  t.deepEqual(await pagingStates(warehouse), []);
  const cursors = await rows(
    warehouse.db,
    sql`SELECT scope FROM fhir_etl.checkpoints WHERE scope LIKE '%:Observation'`,
  );
  t.is(cursors.length, MEMBERS.length);
  const loaded = await rows<{ id: string; version: string }>(
    warehouse.db,
    sql`SELECT id, version_id AS version FROM fhir_raw.observation ORDER BY id`,
  );
  const held = [];
  for (const member of payer.sandbox.members.filter((m) => MEMBERS.includes(m.memberId))) {
    held.push(...(await sandboxVersions(payer, proxy, member.patientId, 'Observation')));
  }
  t.deepEqual(
    loaded,
    held.map(({ id, version }) => ({ id, version })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
  );
}

const firstPagesSince = (payer: PayerFixture, from: number) =>
  payer.sandbox.requests
    .slice(from)
    .filter((r) => r.url.includes('/Observation?') && !r.url.includes('_page='));

test.serial(
  'a resumed search whose stored next link answers 410 Gone starts again from the cursor in the same run',
  async (t) => {
    const { warehouse, payer, proxy, run } = await failedPartWay(t);
    proxy.expireLinks();
    const from = payer.sandbox.requests.length;
    const result = await run();
    t.is(result.status, 'succeeded', result.error);
    t.is(proxy.gone.length, MEMBERS.length, 'each stored link was tried once and answered 410');
    t.is(
      firstPagesSince(payer, from).length,
      MEMBERS.length,
      'each member searched again from the first page',
    );
    await loadedExactly(t, warehouse, payer, proxy);
    const again = await run();
    t.is(again.status, 'succeeded', again.error);
    t.is(proxy.gone.length, MEMBERS.length, 'the dead links are not asked for again');
  },
);

test.serial(
  'a stored next link on an origin the token is not for is dropped, and the search starts again',
  async (t) => {
    const { warehouse, payer, proxy, run } = await failedPartWay(t);
    await warehouse.db.query(sql`
    UPDATE fhir_etl.checkpoints
    SET value = jsonb_set(value::jsonb, '{next}', to_jsonb(replace(value::jsonb->>'next', '127.0.0.1', 'localhost')))::text
    WHERE scope LIKE '%:paging'`);
    const result = await run();
    t.is(result.status, 'succeeded', result.error);
    await loadedExactly(t, warehouse, payer, proxy);
  },
);

test.serial(
  'a search under way for longer than an hour is not resumed: its old link is never asked for',
  async (t) => {
    const { warehouse, payer, proxy, run } = await failedPartWay(t);
    const stale = (await pagingStates(warehouse)).map((s) => (JSON.parse(s.value) as { next: string }).next);
    await warehouse.db.query(
      sql`UPDATE fhir_etl.checkpoints SET updated_at = now() - interval '61 minutes' WHERE scope LIKE '%:paging'`,
    );
    const from = payer.sandbox.requests.length;
    const result = await run();
    t.is(result.status, 'succeeded', result.error);
    const asked = payer.sandbox.requests.slice(from).map((r) => r.url);
    for (const link of stale)
      t.false(asked.some((url) => link.endsWith(url.replace(/^.*\/payer/, '/payer'))));
    t.is(firstPagesSince(payer, from).length, MEMBERS.length);
    await loadedExactly(t, warehouse, payer, proxy);
  },
);
