import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import test from 'ava';
import { CLI_ARGS, runCli } from './helpers/cli.ts';
import { SAMPLE_DIR } from './helpers/fixtures.ts';
import { createTestWarehouse, type TestWarehouse } from './helpers/warehouse.ts';
import { eventually } from './helpers/eventually.ts';

let warehouse: TestWarehouse;
const dir = mkdtempSync(join(tmpdir(), 'fhir-etl-kill-'));
const bigFile = join(dir, 'observations.ndjson');
const COPIES = 250;
let expected = 0;

test.before(async () => {
  warehouse = await createTestWarehouse();
  // ~35 MB: long enough to kill the load in the middle of its COPY, and of its merge.
  const lines = readFileSync(join(SAMPLE_DIR, 'Observation.ndjson'), 'utf8').split('\n').filter(Boolean);
  const out: string[] = [];
  for (let copy = 0; copy < COPIES; copy++) {
    for (const line of lines) {
      const resource = JSON.parse(line);
      resource.id = `${resource.id}-c${copy}`;
      out.push(JSON.stringify(resource));
    }
  }
  expected = out.length;
  writeFileSync(bigFile, `${out.join('\n')}\n`);
});
test.after.always(async () => {
  await warehouse?.drop();
});

async function observationRows(): Promise<number> {
  const [row] = await warehouse.db.query(sql`
    SELECT CASE WHEN to_regclass('fhir_raw.observation') IS NULL THEN 0
           ELSE (SELECT count(*)::int FROM fhir_raw.observation) END AS n`);
  return row.n;
}

/**
 * Starts a load in a child process and SIGKILLs it once the warehouse shows `query` running;
 * returns once the server has ended that backend (its transaction rolled back), so the test
 * looks at the warehouse after the kill took effect, however busy the machine. No deadline of
 * its own: the test's timeout bounds the waits, which depend on events, not on the clock.
 */
async function killLoadDuring(queryPrefix: string): Promise<void> {
  const child = spawn(process.execPath, [...CLI_ARGS, 'load', '--no-views', bigFile], {
    env: { ...process.env, DATABASE_URL: warehouse.url },
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  let killed: number[] = [];
  try {
    await eventually(async () => {
      const active = await warehouse.db.query(sql`
        SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND state = 'active' AND query LIKE ${`${queryPrefix}%`}`);
      killed = active.map((row) => row.pid as number);
      if (active.length > 0) return true;
      if (child.exitCode !== null) throw new Error(`the load ended before ${queryPrefix} was seen`);
      return false;
    });
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  await eventually(
    async () =>
      (await warehouse.db.query(sql`SELECT 1 FROM pg_stat_activity WHERE pid = ANY(${killed})`)).length === 0,
  );
}

test.serial(
  'a load killed with SIGKILL in the middle of its COPY leaves nothing, and a rerun loads every row once',
  async (t) => {
    // A first load copies straight into fhir_raw (the direct path, see loaders/raw/load-file.ts).
    await killLoadDuring('COPY fhir_raw.');
    t.is(await observationRows(), 0);
    const files = await warehouse.db.query(sql`SELECT 1 FROM fhir_etl.files`);
    t.is(files.length, 0);

    const rerun = await runCli(['load', '--no-views', bigFile], { databaseUrl: warehouse.url });
    t.is(rerun.code, 0, rerun.stderr);
    t.is(await observationRows(), expected);
    const runs = await warehouse.db.query(sql`SELECT status, error FROM fhir_etl.runs ORDER BY id`);
    t.is(runs[0].status, 'failed');
    t.regex(runs[0].error, /ended without finishing/);
    t.is(runs[1].status, 'succeeded');
  },
);

test.serial(
  'a load killed in the middle of its merge leaves the earlier load intact, and a rerun completes it',
  async (t) => {
    // Touch the file so it counts as new: the merge then replaces rows that are already there.
    const resources = readFileSync(bigFile, 'utf8').replaceAll('"status":"final"', '"status":"amended"');
    writeFileSync(bigFile, resources);
    await killLoadDuring('WITH staged');
    const [{ amended }] = await warehouse.db.query(
      sql`SELECT count(*) FILTER (WHERE resource->>'status' = 'amended')::int AS amended FROM fhir_raw.observation`,
    );
    t.is(amended, 0);
    t.is(await observationRows(), expected);

    const rerun = await runCli(['load', '--no-views', bigFile], { databaseUrl: warehouse.url });
    t.is(rerun.code, 0, rerun.stderr);
    const [after] = await warehouse.db.query(sql`
    SELECT count(*)::int AS n, count(*) FILTER (WHERE resource->>'status' = 'amended')::int AS amended
    FROM fhir_raw.observation`);
    t.is(after.n, expected);
    t.is(after.amended, expected);
  },
);
