import { sql } from '@databases/pg';
import test from 'ava';
import { loadPaths } from '../pipeline/load.ts';
import { distinctIdsByType, hasSynthea, SAMPLE_DIR, SYNTHEA_DIR } from './helpers/fixtures.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

const warehouse = useTestWarehouse(test);

const load = (paths: string[], source = 'synthea') =>
  loadPaths(warehouse.db, { paths, source, concurrency: 2, maxLineBytes: 1 << 26 });

async function rawCounts(source: string): Promise<Record<string, number>> {
  const tables: Array<{ resource_type: string; table_name: string }> = await warehouse.db.query(
    sql`SELECT resource_type, table_name FROM fhir_etl.raw_tables`,
  );
  const counts: Record<string, number> = {};
  for (const { resource_type, table_name } of tables) {
    const [row] = await warehouse.db.query(
      sql`SELECT count(*)::int AS n FROM ${sql.ident('fhir_raw', table_name)} WHERE source = ${source}`,
    );
    if (row.n > 0) counts[resource_type] = row.n;
  }
  return counts;
}

test.serial('a full load of the Synthea fixtures lands exactly one row per distinct resource', async (t) => {
  const dir = hasSynthea ? SYNTHEA_DIR : SAMPLE_DIR;
  if (!hasSynthea) t.log('../shared is absent: loading the committed sample instead');
  const summary = await load([dir]);
  t.is(summary.status, 'succeeded');
  t.is(summary.rejects, 0);
  t.deepEqual(await rawCounts('synthea'), distinctIdsByType(dir));
  const [run] = await warehouse.db.query(
    sql`SELECT status, resources, counts FROM fhir_etl.runs WHERE id = ${summary.runId}`,
  );
  t.is(run.status, 'succeeded');
  t.is(run.resources, summary.resources);
  t.is(run.counts.Patient, distinctIdsByType(dir).Patient);
});

test.serial('loading the same files again changes nothing', async (t) => {
  const dir = hasSynthea ? SYNTHEA_DIR : SAMPLE_DIR;
  const before = await warehouse.db.query(
    sql`SELECT id, run_id, resource FROM fhir_raw.patient WHERE source = 'synthea' ORDER BY id`,
  );
  const summary = await load([dir]);
  t.is(summary.status, 'succeeded');
  t.is(summary.files, 0);
  t.true(summary.filesSkipped > 0);
  const after = await warehouse.db.query(
    sql`SELECT id, run_id, resource FROM fhir_raw.patient WHERE source = 'synthea' ORDER BY id`,
  );
  t.deepEqual(after, before);
  t.deepEqual(await rawCounts('synthea'), distinctIdsByType(dir));
});

test.serial('the same resources under another source are kept apart', async (t) => {
  const summary = await load([SAMPLE_DIR], 'other');
  t.is(summary.status, 'succeeded');
  t.deepEqual(await rawCounts('other'), distinctIdsByType(SAMPLE_DIR));
});
