import { sql } from '@databases/pg';
import test from 'ava';
import { runCli } from './helpers/cli.ts';
import {
  assertNoHalfFile,
  filesWaitingToCommit,
  holdCheckpoints,
  scratchDir,
  startScheduler,
  writeConfig,
  writeLanding,
} from './helpers/scheduler.ts';
import { eventually } from './helpers/eventually.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

const warehouse = useTestWarehouse(test);

const FILES = 6;
const PATIENTS = 50;

/** A source on a per-second schedule over its own landing folder. */
function scheduledSource(name: string): { config: string } {
  const dir = scratchDir();
  const landing = writeLanding(dir, FILES, PATIENTS);
  return { config: writeConfig(dir, [{ name, kind: 'files', path: landing, schedule: '* * * * * *' }]) };
}

/** Starts a scheduler and returns once its first run has files blocked at their checkpoint. */
async function schedulerInTheMiddleOfARun(config: string) {
  const scheduler = startScheduler(config, [], { databaseUrl: warehouse.url });
  await eventually(async () => (await filesWaitingToCommit(warehouse.db)) > 0);
  return scheduler;
}

test.serial(
  'SIGTERM mid-run commits the files in flight, starts no more, and the next run loads the rest',
  async (t) => {
    const { config } = scheduledSource('graceful');
    const checkpoints = await holdCheckpoints(warehouse.db);
    const scheduler = await schedulerInTheMiddleOfARun(config);
    scheduler.child.kill('SIGTERM');
    await scheduler.waitForLine((line) => line.event === 'scheduler.stopping');
    await checkpoints.release();
    const end = await scheduler.exited;
    t.is(end.code, 0, end.stderr.slice(-2000));

    const committed = await assertNoHalfFile(t, warehouse.db, 'graceful', {
      files: FILES,
      patients: PATIENTS,
    });
    t.true(committed.length > 0 && committed.length < FILES, `committed ${committed.length} files`);
    const runs = await warehouse.db.query(
      sql`SELECT status, trigger, error FROM fhir_etl.runs WHERE source = 'graceful' ORDER BY id`,
    );
    t.is(runs.length, 1);
    t.like(runs[0], { status: 'failed', trigger: 'schedule' });
    t.regex(runs[0].error, /stopped before every file was loaded/);
    const fires = await warehouse.db.query(sql`
    SELECT outcome FROM fhir_etl.schedule_fires WHERE source = 'graceful' AND outcome <> 'skipped-overlap'`);
    t.deepEqual(fires, [{ outcome: 'stopped' }]);

    const next = await runCli(['--config', config, 'run'], { databaseUrl: warehouse.url });
    t.is(next.code, 0, next.stderr);
    t.is(
      (await assertNoHalfFile(t, warehouse.db, 'graceful', { files: FILES, patients: PATIENTS })).length,
      FILES,
    );
    const [last] = await warehouse.db.query(sql`
    SELECT status, files, files_skipped FROM fhir_etl.runs WHERE source = 'graceful' ORDER BY id DESC LIMIT 1`);
    t.deepEqual(last, {
      status: 'succeeded',
      files: FILES - committed.length,
      files_skipped: committed.length,
    });
  },
);

test.serial(
  'a second signal exits at once; the files in flight roll back and the next fire loads them',
  async (t) => {
    const { config } = scheduledSource('forced');
    const checkpoints = await holdCheckpoints(warehouse.db);
    const scheduler = await schedulerInTheMiddleOfARun(config);
    scheduler.child.kill('SIGTERM');
    await scheduler.waitForLine((line) => line.event === 'shutdown.requested');
    scheduler.child.kill('SIGTERM');
    const end = await scheduler.exited;
    t.is(end.code, 143);
    await checkpoints.release();

    const [killed] = await warehouse.db.query(
      sql`SELECT id, status FROM fhir_etl.runs WHERE source = 'forced' ORDER BY id LIMIT 1`,
    );
    t.is(killed.status, 'running');
    const [killedFire] = await warehouse.db.query(
      sql`SELECT id FROM fhir_etl.schedule_fires WHERE source = 'forced' AND outcome = 'running'`,
    );

    // The next scheduler's first fire takes the source, closes what the dead one left, loads it all.
    const next = startScheduler(config, [], { databaseUrl: warehouse.url });
    await next.waitForLine((line) => line.event === 'fire.done' && line.outcome === 'succeeded');
    next.child.kill('SIGTERM');
    t.is((await next.exited).code, 0);

    t.is(
      (await assertNoHalfFile(t, warehouse.db, 'forced', { files: FILES, patients: PATIENTS })).length,
      FILES,
    );
    const [byKilledRun] = await warehouse.db.query(
      sql`SELECT count(*)::int AS files FROM fhir_etl.files WHERE run_id = ${killed.id}`,
    );
    t.is(byKilledRun.files, 0);
    const [closedRun] = await warehouse.db.query(
      sql`SELECT status, error FROM fhir_etl.runs WHERE id = ${killed.id}`,
    );
    t.is(closedRun.status, 'failed');
    t.regex(closedRun.error, /ended without finishing/);
    const [closedFire] = await warehouse.db.query(
      sql`SELECT outcome FROM fhir_etl.schedule_fires WHERE id = ${killedFire.id}`,
    );
    t.is(closedFire.outcome, 'abandoned');
  },
);
