import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import test from 'ava';
import { expandInputs } from '../pipeline/inputs.ts';
import { type LoadSummary, loadPaths } from '../pipeline/load.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

// pipeline/load.ts loads a file on disk again when its transaction was rolled back by a
// deadlock (40P01) or a serialization failure (40001): nothing of it was committed.

const warehouse = useTestWarehouse(test);
const dir = mkdtempSync(join(tmpdir(), 'fhir-etl-retry-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('timed out');
}

test('a file chosen as a deadlock’s victim is loaded again, once', async (t) => {
  const path = join(dir, 'patients.ndjson');
  const lines = Array.from({ length: 50 }, (_, i) =>
    JSON.stringify({ resourceType: 'Patient', id: `p${i}` }),
  );
  writeFileSync(path, `${lines.join('\n')}\n`);
  const [input] = await expandInputs([path], () => 0);
  const fileKey = (input as { fileKey: string }).fileKey;
  let loading: Promise<LoadSummary> | undefined;
  // Another session holds the source's Patient direct lock: the file stages its rows and, before
  // merging them, waits for that lock shared. The session then waits for the file's own key
  // lock: a deadlock, and PostgreSQL aborts the file. That this
  // session gets the file's key lock proves the file's transaction rolled back.
  await warehouse.db.tx(async (tx) => {
    // This session never looks for the deadlock itself (the file does, after 1 s), so the
    // file is the victim, whichever of the two started waiting first.
    await tx.query(sql`SET LOCAL deadlock_timeout = '1min'`);
    await tx.query(sql`SELECT pg_advisory_xact_lock(hashtextextended(${'fhir_raw|r|patient'}, 0))`);
    loading = loadPaths(warehouse.db, { paths: [path], source: 'r', concurrency: 1, maxLineBytes: 1 << 20 });
    await waitFor(async () => {
      const [row] = await warehouse.db.query(sql`
        SELECT count(*)::int AS n FROM pg_locks
        WHERE locktype = 'advisory' AND mode = 'ShareLock' AND NOT granted
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
      return row.n > 0;
    });
    await tx.query(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`r|${fileKey}`}, 0))`);
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
