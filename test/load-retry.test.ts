import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import test from 'ava';
import { ingestResources, prepareLoad } from '../pipeline/ingest.ts';
import { expandInputs } from '../pipeline/inputs.ts';
import { type LoadSummary, loadPaths } from '../pipeline/load.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';
import { eventually } from './helpers/eventually.ts';

// pipeline/load.ts loads a file on disk again when its transaction was rolled back by a
// deadlock (40P01) or a serialization failure (40001): nothing of it was committed.

const warehouse = useTestWarehouse(test);
const dir = mkdtempSync(join(tmpdir(), 'fhir-etl-retry-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Makes the next load of (source, fileKey) a deadlock's victim: this session holds the
 * source's Patient direct lock, the load stages its rows and waits for that lock shared before
 * merging, then this session waits for the load's own key lock. That this session gets the
 * key lock proves the load's transaction rolled back.
 */
async function deadlockOnce(source: string, fileKey: string, start: () => void): Promise<void> {
  await warehouse.db.tx(async (tx) => {
    // This session never looks for the deadlock itself (the load does, after 1 s), so the
    // load is the victim, whichever of the two started waiting first.
    await tx.query(sql`SET LOCAL deadlock_timeout = '1min'`);
    await tx.query(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`fhir_raw|${source}|patient`}, 0))`);
    start();
    await eventually(async () => {
      const [row] = await warehouse.db.query(sql`
        SELECT count(*)::int AS n FROM pg_locks
        WHERE locktype = 'advisory' AND mode = 'ShareLock' AND NOT granted
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
      return row.n > 0;
    });
    await tx.query(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`${source}|${fileKey}`}, 0))`);
  });
}

test.serial(
  'a REST page chosen as a deadlock’s victim is loaded again (the one retry is the whole page)',
  async (t) => {
    const ctx = await prepareLoad(warehouse.db, { views: [] });
    const [run] = await warehouse.db.query(
      sql`INSERT INTO fhir_etl.runs (command, source, status) VALUES ('run', 'page', 'running') RETURNING id`,
    );
    const page = Array.from({ length: 30 }, (_, i) => ({ resourceType: 'Patient', id: `q${i}` }));
    let loading: ReturnType<typeof ingestResources> | undefined;
    await deadlockOnce('page', 'page-1', () => {
      loading = ingestResources(
        ctx,
        { source: 'page', fileKey: 'page-1', path: 'https://payer/Patient', runId: run.id },
        page,
      );
    });
    const result = await (loading as ReturnType<typeof ingestResources>);
    t.deepEqual(result.counts, { Patient: { resources: 30, inserted: 30, updated: 0 } });
    const [row] = await warehouse.db.query(sql`
    SELECT (SELECT count(*)::int FROM fhir_raw.patient WHERE source = 'page') AS patients,
           (SELECT count(*)::int FROM fhir_etl.files WHERE source = 'page') AS files`);
    t.deepEqual(row, { patients: 30, files: 1 });
  },
);

test.serial('a file chosen as a deadlock’s victim is loaded again, once', async (t) => {
  const path = join(dir, 'patients.ndjson');
  const lines = Array.from({ length: 50 }, (_, i) =>
    JSON.stringify({ resourceType: 'Patient', id: `p${i}` }),
  );
  writeFileSync(path, `${lines.join('\n')}\n`);
  const [input] = await expandInputs([path], () => 0);
  const fileKey = (input as { fileKey: string }).fileKey;
  let loading: Promise<LoadSummary> | undefined;
  await deadlockOnce('r', fileKey, () => {
    loading = loadPaths(warehouse.db, { paths: [path], source: 'r', concurrency: 1, maxLineBytes: 1 << 20 });
  });
  const summary = await (loading as Promise<LoadSummary>);
  t.is(summary.status, 'succeeded');
  t.deepEqual(
    summary.outcomes.map((o) => [o.error, o.result?.counts]),
    [[undefined, { Patient: { resources: 50, inserted: 50, updated: 0 } }]],
  );
  const [row] = await warehouse.db.query(sql`
    SELECT (SELECT count(*)::int FROM fhir_raw.patient WHERE source = 'r') AS patients,
           (SELECT count(*)::int FROM fhir_etl.files WHERE source = 'r') AS files`);
  t.deepEqual(row, { patients: 50, files: 1 });
});
