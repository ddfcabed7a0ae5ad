import { sql } from '@databases/pg';
import test from 'ava';
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
const TYPES = ['Encounter', 'Condition'];
const PAGE_SIZE = 2;

let warehouse: TestWarehouse;
let payer: PayerFixture;
let proxy: PagingProxy;

test.before(async () => {
  warehouse = await createTestWarehouse();
  // Encounter and Condition are only ever updated in place by advance(): no offsets shift, so
  // what a run may miss is exactly what the cursor lets it miss.
  ({ payer, proxy } = await startProxiedPayer({ resources: TYPES, pageSize: PAGE_SIZE }));
  for (const member of payer.sandbox.members) await loginAs(warehouse.db, payer, member.memberId);
});

test.after.always(async () => {
  await payer?.sandbox.close();
  await warehouse?.drop();
});

const run = () => runSources(warehouse.db, payer.config, { logger }).then((results) => results[0]!);

const loadedVersions = async (type: string, patientId: string) =>
  rows<{ id: string; version: string }>(
    warehouse.db,
    sql`SELECT id, version_id AS version FROM ${sql.ident('fhir_raw', type.toLowerCase())}
        WHERE resource->'subject'->>'reference' = ${`Patient/${patientId}`} ORDER BY id`,
  );

/**
 * While the first page of a member's Encounter search has been read and the second not yet,
 * the sandbox moves on until a resource of the page already read is updated and, after it, one
 * on a later page: the search then sees a lastUpdated newer than the change it missed.
 */
async function updateBehindTheSearch(url: URL): Promise<{ patientId: string; missed: string } | undefined> {
  const patientId = url.searchParams.get('patient')!;
  const before = await sandboxVersions(payer, proxy, patientId, 'Encounter');
  const read = new Set(before.slice(0, PAGE_SIZE).map((r) => r.id));
  for (let step = 0; step < 2000; step++) {
    payer.sandbox.advance();
    const now = await sandboxVersions(payer, proxy, patientId, 'Encounter');
    const missed = now
      .filter((r) => read.has(r.id) && r.version !== '1')
      .find((r) => now.some((later) => !read.has(later.id) && later.lastUpdated >= r.lastUpdated));
    if (missed) return { patientId, missed: missed.id };
  }
  return undefined;
}

test.serial(
  'a resource updated on a page already read while the search pages on is loaded by the next run',
  async (t) => {
    let scenario: Promise<{ patientId: string; missed: string } | undefined> | undefined;
    proxy.intercept = async (url) => {
      if (scenario === undefined && url.pathname.endsWith('/Encounter') && url.searchParams.has('_page')) {
        scenario = updateBehindTheSearch(url);
        await scenario;
      }
      return undefined;
    };
    const first = await run();
    proxy.intercept = undefined;
    t.is(first.status, 'succeeded', first.error);
    const found = await scenario;
    if (!found) return t.fail('the sandbox never updated a resource behind the search');
    const missedRow = (await loadedVersions('Encounter', found.patientId)).find((r) => r.id === found.missed);
    t.is(missedRow?.version, '1', 'the first run read the resource before it changed');

    const second = await run();
    t.is(second.status, 'succeeded', second.error);
    for (const member of payer.sandbox.members) {
      for (const type of TYPES) {
        const held = await sandboxVersions(payer, proxy, member.patientId, type);
        t.deepEqual(
          await loadedVersions(type, member.patientId),
          held
            .map(({ id, version }) => ({ id, version }))
            .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
          `${type} of ${member.patientId}: every current version is loaded`,
        );
      }
    }
  },
);

test.serial(
  'the cursor never passes the server clock at the start of the search, less the margin',
  async (t) => {
    const cursors = await rows<{ value: string; updated_at: Date }>(
      warehouse.db,
      sql`SELECT value, updated_at FROM fhir_etl.checkpoints WHERE source = 'payer' AND scope LIKE 'rest:%'`,
    );
    t.true(cursors.length > 0);
    for (const cursor of cursors)
      t.true(Date.parse(cursor.value) <= cursor.updated_at.getTime() - 5 * 60_000);
  },
);

test.serial('a resource stamped with the very instant of the cursor is asked for again', async (t) => {
  const from = payer.sandbox.requests.length;
  const result = await run();
  t.is(result.status, 'succeeded', result.error);
  const firstPages = payer.sandbox.requests
    .slice(from)
    .filter((r) => /\/payer\/r4\/[A-Z]/.test(r.url) && !r.url.includes('_page='));
  t.true(firstPages.length > 0);
  for (const request of firstPages) {
    const asked = new URL(request.url, payer.sandbox.url).searchParams.get('_lastUpdated') ?? '';
    t.regex(asked, /^ge\d{4}-/, 'ge, not gt: the cursor instant itself is included');
  }
  t.is(result.resources, 0, 'identical copies read again are not counted as changes');
});
