import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import test from 'ava';
import { loadPaths } from '../pipeline/load.ts';
import { createTestWarehouse, type TestWarehouse } from './helpers/warehouse.ts';

let warehouse: TestWarehouse;
const dir = mkdtempSync(join(tmpdir(), 'fhir-etl-replace-'));
test.before(async () => {
  warehouse = await createTestWarehouse();
});
test.after.always(async () => {
  await warehouse?.drop();
});

let fileNumber = 0;
function file(...resources: object[]): string {
  const path = join(dir, `f${++fileNumber}.ndjson`);
  writeFileSync(path, `${resources.map((r) => JSON.stringify(r)).join('\n')}\n`);
  return path;
}

function patient(id: string, family: string, meta?: { lastUpdated?: string; versionId?: string }) {
  return { resourceType: 'Patient', id, ...(meta ? { meta } : {}), name: [{ family }] };
}

const load = (path: string) =>
  loadPaths(warehouse.db, { paths: [path], source: 's', concurrency: 1, maxLineBytes: 1 << 20 });

async function familyOf(id: string): Promise<string | undefined> {
  const [row] = await warehouse.db.query(
    sql`SELECT resource #>> '{name,0,family}' AS family FROM fhir_raw.patient WHERE source = 's' AND id = ${id}`,
  );
  return row?.family;
}

test.serial('a newer copy of a resource replaces the stored one', async (t) => {
  await load(file(patient('p1', 'Old', { lastUpdated: '2024-01-01T00:00:00Z' })));
  const summary = await load(file(patient('p1', 'New', { lastUpdated: '2024-02-01T00:00:00Z' })));
  t.is(await familyOf('p1'), 'New');
  t.deepEqual(summary.counts, { Patient: 1 });
  const [row] = await warehouse.db.query(
    sql`SELECT run_id, last_updated FROM fhir_raw.patient WHERE id = 'p1'`,
  );
  t.is(row.run_id, summary.runId);
  t.is(row.last_updated.toISOString(), '2024-02-01T00:00:00.000Z');
});

test.serial('an older copy by meta.lastUpdated does not replace a newer one', async (t) => {
  await load(file(patient('p1', 'Stale', { lastUpdated: '2023-06-01T00:00:00+02:00' })));
  t.is(await familyOf('p1'), 'New');
});

test.serial('versionId decides when lastUpdated ties or is missing', async (t) => {
  await load(file(patient('p2', 'V2', { versionId: '2' })));
  await load(file(patient('p2', 'V1', { versionId: '1' })));
  t.is(await familyOf('p2'), 'V2');
  await load(file(patient('p2', 'V10', { versionId: '10' })));
  t.is(await familyOf('p2'), 'V10');
});

test.serial('without lastUpdated or versionId the copy loaded last wins', async (t) => {
  await load(file(patient('p3', 'First')));
  await load(file(patient('p3', 'Second')));
  t.is(await familyOf('p3'), 'Second');
});

test.serial('within one file the newest copy of an id wins, whatever its position', async (t) => {
  const summary = await load(
    file(
      patient('p4', 'Middle', { lastUpdated: '2024-05-01T00:00:00Z' }),
      patient('p4', 'Newest', { lastUpdated: '2024-06-01T00:00:00Z' }),
      patient('p4', 'Oldest', { lastUpdated: '2024-04-01T00:00:00Z' }),
      patient('p5', 'Last wins A'),
      patient('p5', 'Last wins B'),
    ),
  );
  t.is(summary.status, 'succeeded');
  t.is(await familyOf('p4'), 'Newest');
  t.is(await familyOf('p5'), 'Last wins B');
  const [{ n }] = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir_raw.patient WHERE id IN ('p4', 'p5')`,
  );
  t.is(n, 2);
});

test.serial('an identical copy leaves the stored row untouched', async (t) => {
  const path = file(patient('p6', 'Same', { lastUpdated: '2024-01-01T00:00:00Z' }));
  const first = await load(path);
  await load(file(patient('p6', 'Same', { lastUpdated: '2024-01-01T00:00:00Z' })));
  const [row] = await warehouse.db.query(sql`SELECT run_id FROM fhir_raw.patient WHERE id = 'p6'`);
  t.is(row.run_id, first.runId);
});

test.serial('two loads of the same file at once commit it exactly once', async (t) => {
  const path = file(patient('p7', 'Once'), patient('p8', 'Once'));
  const [a, b] = await Promise.all([load(path), load(path)]);
  const loaded = [a, b].map((summary) => summary.files);
  const skipped = [a, b].map((summary) => summary.filesSkipped);
  t.deepEqual(loaded.sort(), [0, 1]);
  t.deepEqual(skipped.sort(), [0, 1]);
  const [{ n }] = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir_etl.files WHERE path = ${path}`,
  );
  t.is(n, 1);
});
