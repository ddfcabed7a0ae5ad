import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pgModule, { type ConnectionPool, sql } from '@databases/pg';
import test from 'ava';
import { replacingDeadConnections } from '../loaders/postgres/dead-connections.ts';
import { loadTransaction, withLoadConnections } from '../loaders/postgres/load-connections.ts';
import { prepareLoad } from '../pipeline/ingest.ts';
import { expandInputs } from '../pipeline/inputs.ts';
import { loadInputs } from '../pipeline/load.ts';
import { recordRun } from '../pipeline/run-recorder.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

/**
 * Idle pool connections killed on the server (pg_terminate_backend, an idle timeout) stay in
 * the pool until node-postgres reads the server's goodbye; a file that takes one in between
 * must not fail: the connection is replaced and the file loads.
 */
const warehouse = useTestWarehouse(test);
const dir = mkdtempSync(join(tmpdir(), 'fhir-etl-dead-'));
const APP = 'fhir_etl_dead_connections_test';
const CONCURRENCY = 4;

function withApplicationName(url: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('application_name', APP);
  return parsed.toString();
}

function files(round: number): string[] {
  return Array.from({ length: CONCURRENCY * 2 }, (_, i) => {
    const path = join(dir, `round-${round}-${i}.ndjson`);
    writeFileSync(path, `${JSON.stringify({ resourceType: 'Patient', id: `r${round}-${i}` })}\n`);
    return path;
  });
}

/** Opens CONCURRENCY load connections (those files are loaded on) and leaves them idle in their pool. */
async function fillPool(db: ConnectionPool): Promise<void> {
  let open = 0;
  let release: () => void = () => undefined;
  const allOpen = new Promise<void>((resolve) => {
    release = resolve;
  });
  await Promise.all(
    Array.from({ length: CONCURRENCY }, () =>
      loadTransaction(db, async (tx) => {
        await tx.query(sql`SELECT 1`);
        if (++open === CONCURRENCY) release();
        await allOpen;
      }),
    ),
  );
}

test('files whose pooled connection was killed while idle load on a fresh one', async (t) => {
  let replaced = 0;
  const url = withApplicationName(warehouse.url);
  const db = withLoadConnections(
    replacingDeadConnections(
      pgModule.default({
        connectionString: url,
        bigIntMode: 'number',
        poolSize: CONCURRENCY + 2,
        onError: () => undefined,
      }),
      () => replaced++,
    ),
    url,
    CONCURRENCY + 2,
    () => replaced++,
  );
  try {
    const ctx = await prepareLoad(db, { views: [] });
    const loaded: string[] = [];
    // The server's goodbye may reach a connection before a file takes it, or after: rounds
    // until files took dead connections (nearly always the first).
    for (let round = 1; round <= 5 && replaced === 0; round++) {
      const inputs = await expandInputs(files(round), () => 0);
      const run = await recordRun(db, { command: 'load', source: 'dead' }, async (recorder) => {
        await fillPool(db);
        const killed = await warehouse.db.query(sql`
          SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = ${APP} AND state = 'idle'`);
        t.true(killed.length > 0);
        // At once, before the killed connections' goodbyes are read: every file takes one.
        await loadInputs(ctx, recorder, inputs, { source: 'dead', concurrency: CONCURRENCY });
      });
      t.is(run.status, 'succeeded', run.error);
      t.is(run.files, inputs.length);
      loaded.push(...inputs.map((input) => input.path));
    }
    t.true(replaced > 0, 'files took killed connections');
    const [{ n }] = await warehouse.db.query(
      sql`SELECT count(*)::int AS n FROM fhir_raw.patient WHERE source = 'dead'`,
    );
    t.is(n, loaded.length);
  } finally {
    await db.dispose();
  }
});
