import { sql } from '@databases/pg';
import test from 'ava';
import { grantRead } from '../loaders/index.ts';
import { type LoadSummary, loadPaths } from '../pipeline/load.ts';
import { configuredViews } from '../pipeline/views.ts';
import { distinctIdsByType, SAMPLE_DIR } from './helpers/fixtures.ts';
import { connectAs, loginRole } from './helpers/reader.ts';
import { createTestWarehouse, type TestWarehouse } from './helpers/warehouse.ts';

/**
 * analytics.freshness (issue 12): per source and view table, the last successful load, its
 * run, the rows it wrote and the rows the table holds, readable by a read-only role.
 */
let warehouse: TestWarehouse;

async function load(source: string): Promise<LoadSummary> {
  const summary = await loadPaths(warehouse.db, {
    paths: [SAMPLE_DIR],
    source,
    concurrency: 2,
    maxLineBytes: 1 << 26,
    views: await configuredViews(),
  });
  if (summary.status !== 'succeeded') throw new Error(JSON.stringify(summary.outcomes));
  return summary;
}

test.before(async () => {
  warehouse = await createTestWarehouse();
});
test.after.always(async () => {
  await warehouse?.drop();
});

test('a reader sees per source and table the last successful load, its run and the rows', async (t) => {
  const first = await load('alpha');
  const beta = await load('beta');
  // Loaded again: every file is skipped, the run succeeds and writes nothing.
  const again = await load('alpha');
  const { role, url } = await loginRole(t, warehouse);
  await grantRead(warehouse.db, { role, raw: false }, ['fhir']);
  const reader = connectAs(t, url);

  const patients = distinctIdsByType(SAMPLE_DIR).Patient as number;
  const rows = await reader.query(sql`
    SELECT source, last_run_id, rows_loaded, rows, last_attempt_status, hours_since_load
    FROM analytics.freshness WHERE table_schema = 'fhir' AND table_name = 'patient' ORDER BY source`);
  t.deepEqual(
    rows.map((r) => ({ ...r, hours_since_load: Number(r.hours_since_load) < 1 })),
    [
      {
        source: 'alpha',
        last_run_id: again.runId,
        rows_loaded: 0,
        rows: patients,
        last_attempt_status: 'succeeded',
        hours_since_load: true,
      },
      {
        source: 'beta',
        last_run_id: beta.runId,
        rows_loaded: patients,
        rows: patients,
        last_attempt_status: 'succeeded',
        hours_since_load: true,
      },
    ],
  );
  t.true(again.runId > first.runId);

  // Every view table is listed for every source, its counts those of the table.
  const views = await configuredViews();
  const [listed] = await reader.query(sql`SELECT count(*)::int AS n FROM analytics.freshness`);
  t.is(listed.n, views.length * 2);
  const [claims] = await reader.query(sql`
    SELECT f.rows = (SELECT count(*) FROM fhir.explanation_of_benefit e WHERE e._source = 'beta') AS same
    FROM analytics.freshness f WHERE f.source = 'beta' AND f.table_name = 'explanation_of_benefit'`);
  t.true(claims.same);
});
