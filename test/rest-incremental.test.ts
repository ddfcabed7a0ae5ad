import { sql } from '@databases/pg';
import test from 'ava';
import { pino } from 'pino';
import { runSources } from '../pipeline/run.ts';
import { createTestWarehouse, rows, type TestWarehouse } from './helpers/warehouse.ts';
import { loginAs, type PayerFixture, startPayer } from './helpers/payer.ts';

let warehouse: TestWarehouse;
let payer: PayerFixture;
const logger = pino({ level: 'silent' });

test.before(async () => {
  warehouse = await createTestWarehouse();
  payer = await startPayer({ pageSize: 3 });
  for (const member of payer.sandbox.members) await loginAs(warehouse.db, payer, member.memberId);
});

test.after.always(async () => {
  await payer?.sandbox.close();
  await warehouse?.drop();
});

const run = () => runSources(warehouse.db, payer.config, { logger }).then((results) => results[0]!);
const searches = (from: number) =>
  payer.sandbox.requests.slice(from).filter((r) => r.method === 'GET' && /\/payer\/r4\/[A-Z]/.test(r.url));

test.serial('a first run loads every member and type, following next links over many pages', async (t) => {
  const result = await run();
  t.is(result.status, 'succeeded', result.error);
  const patients = await rows(warehouse.db, sql`SELECT id FROM fhir_raw.patient ORDER BY id`);
  t.deepEqual(
    patients.map((p) => p.id),
    payer.sandbox.members.map((m) => m.patientId).sort(),
  );
  const observations = await rows<{ n: number }>(
    warehouse.db,
    sql`SELECT count(*)::int AS n FROM fhir_raw.observation`,
  );
  t.true(observations[0]!.n > 3, 'more than one page of Observations');
  t.true(result.files > payer.sandbox.members.length * 4, 'pages of _count=3 each committed as a file');
  const paged = searches(0).filter((r) => new URL(r.url).searchParams.has('_page'));
  t.true(paged.length > 0, 'next links were followed');
  const cursors = await rows(
    warehouse.db,
    sql`SELECT scope FROM fhir_etl.checkpoints WHERE source = 'payer' ORDER BY scope`,
  );
  t.false(
    cursors.some((c) => String(c.scope).endsWith(':paging')),
    'no search left half way',
  );
  t.true(cursors.some((c) => c.scope === `rest:${payer.sandbox.members[0]!.patientId}:Observation`));
});

test.serial('a second run asks only for what changed since each cursor, and loads only that', async (t) => {
  const cursorsBefore = new Map(
    (
      await rows<{ scope: string; value: string }>(
        warehouse.db,
        sql`SELECT scope, value FROM fhir_etl.checkpoints WHERE source = 'payer'`,
      )
    ).map((c) => [c.scope, c.value]),
  );
  payer.sandbox.advance();
  payer.sandbox.advance();
  const from = payer.sandbox.requests.length;
  const result = await run();
  t.is(result.status, 'succeeded', result.error);
  const firstPages = searches(from).filter((r) => !new URL(r.url).searchParams.has('_page'));
  t.true(firstPages.length > 0);
  for (const request of firstPages)
    t.regex(new URL(request.url).searchParams.get('_lastUpdated') ?? '', /^ge\d{4}-/);
  t.true(result.resources > 0, 'the changes were loaded');
  const changed = await rows<{ id: string; resource_type: string; patient: string; last_updated: Date }>(
    warehouse.db,
    sql`SELECT id, resource_type, coalesce(resource->'subject'->>'reference', 'Patient/' || id) AS patient, last_updated
        FROM (SELECT *, 'Observation' AS resource_type FROM fhir_raw.observation
              UNION ALL SELECT *, 'Encounter' FROM fhir_raw.encounter
              UNION ALL SELECT *, 'Condition' FROM fhir_raw.condition
              UNION ALL SELECT *, 'Patient' FROM fhir_raw.patient) AS loaded
        WHERE run_id = ${result.runId}`,
  );
  t.true(changed.length > 0);
  for (const row of changed) {
    const cursor = cursorsBefore.get(`rest:${row.patient.replace('Patient/', '')}:${row.resource_type}`);
    t.truthy(cursor);
    t.true(row.last_updated.getTime() >= Date.parse(cursor!), `${row.id} changed at or after the cursor`);
  }
  const total = await rows<{ n: number }>(
    warehouse.db,
    sql`SELECT sum(resources)::int AS n FROM fhir_etl.runs WHERE id < ${result.runId} AND source = 'payer'`,
  );
  t.true(result.resources < total[0]!.n, 'fewer resources than the first run');
});

test.serial(
  'a run after nothing changed loads nothing, and no cursor passes the newest change',
  async (t) => {
    const cursors = () =>
      rows<{ scope: string; value: string }>(
        warehouse.db,
        sql`SELECT scope, value FROM fhir_etl.checkpoints WHERE source = 'payer' ORDER BY scope`,
      );
    const before = await cursors();
    const result = await run();
    t.is(result.status, 'succeeded', result.error);
    t.is(result.resources, 0, 'resources read again (the cursor instant, the safety margin) are no change');
    const after = await cursors();
    t.deepEqual(
      after.map((c) => c.scope),
      before.map((c) => c.scope),
    );
    const newest = await rows<{ at: Date }>(
      warehouse.db,
      sql`SELECT max(last_updated) AS at FROM (SELECT last_updated FROM fhir_raw.observation
        UNION ALL SELECT last_updated FROM fhir_raw.encounter UNION ALL SELECT last_updated FROM fhir_raw.condition
        UNION ALL SELECT last_updated FROM fhir_raw.patient) AS loaded`,
    );
    after.forEach((cursor, n) => {
      t.true(Date.parse(cursor.value) >= Date.parse(before[n]!.value), `${cursor.scope} never moves back`);
      t.true(
        Date.parse(cursor.value) <= newest[0]!.at.getTime(),
        `${cursor.scope} is no later than what was loaded`,
      );
    });
  },
);
