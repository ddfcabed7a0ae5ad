import { sql } from '@databases/pg';
import test from 'ava';
import {
  type SchedulerProcess,
  scratchDir,
  startScheduler,
  writeConfig,
  writeLanding,
} from './helpers/scheduler.ts';
import { eventually } from './helpers/eventually.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

const warehouse = useTestWarehouse(test);

interface Fire {
  id: number;
  fire_at: Date;
  replica: string;
  outcome: string;
}
interface Run {
  id: number;
  fire_id: number | null;
  trigger: string;
  status: string;
  started_at: Date;
  ended_at: Date;
}

test('two scheduler replicas run every fire exactly once and never overlap a source', async (t) => {
  const dir = scratchDir();
  const landing = writeLanding(dir, 3, 20);
  const config = writeConfig(dir, [
    { name: 'landing', kind: 'files', path: landing, schedule: '* * * * * *' },
  ]);
  const replicas: SchedulerProcess[] = ['replica-a', 'replica-b'].map((name) =>
    startScheduler(config, ['--replica', name], { databaseUrl: warehouse.url }),
  );
  await Promise.all(replicas.map((r) => r.waitForLine((line) => line.event === 'scheduler.started')));
  // Fires from now on were due on both replicas; wait for a dozen of them to end, one of them
  // a run that succeeded (on a busy machine the first run, which loads the landing, may still
  // be going after a dozen fires skipped as overlapping it).
  const [{ now }] = await warehouse.db.query(sql`SELECT clock_timestamp() AS now`);
  await eventually(async () => {
    const [row] = await warehouse.db.query(sql`
      SELECT count(*) FILTER (WHERE fire_at > ${now} AND outcome NOT IN ('claimed', 'running'))::int AS ended,
             count(*) FILTER (WHERE outcome = 'succeeded')::int AS succeeded
      FROM fhir_etl.schedule_fires`);
    return row.ended >= 12 && row.succeeded >= 1;
  });
  for (const replica of replicas) replica.child.kill('SIGTERM');
  const ends = await Promise.all(replicas.map((r) => r.exited));
  t.deepEqual(
    ends.map((end) => end.code),
    [0, 0],
    ends.map((end) => end.stderr.slice(-2000)).join('\n'),
  );

  const fires: Fire[] = await warehouse.db.query(
    sql`SELECT id, fire_at, replica, outcome FROM fhir_etl.schedule_fires ORDER BY fire_at`,
  );
  const runs: Run[] = await warehouse.db.query(
    sql`SELECT id, fire_id, trigger, status, started_at, ended_at FROM fhir_etl.runs ORDER BY started_at`,
  );
  const raced = fires.filter((fire) => fire.fire_at > now);
  t.true(raced.length >= 10);

  // One row per fire: each scheduled second was claimed by exactly one replica...
  t.is(new Set(fires.map((f) => f.fire_at.getTime())).size, fires.length);
  t.true(fires.every((f) => ['replica-a', 'replica-b'].includes(f.replica)));
  // ...although both replicas asked for it: the losers saw it already taken.
  const taken = replicas.map((r) => r.lines.filter((l) => l.event === 'fire.taken-elsewhere').length);
  t.true(taken.some((n) => n > 0));

  // ...and ran once: a fire that ran has exactly one run; a skipped one none.
  t.true(fires.every((f) => ['succeeded', 'skipped-overlap', 'stopped'].includes(f.outcome)));
  t.true(fires.some((f) => f.outcome === 'succeeded'));
  for (const fire of fires) {
    const its = runs.filter((r) => r.fire_id === fire.id).length;
    if (fire.outcome === 'succeeded') t.is(its, 1, `fire ${fire.id}`);
    else if (fire.outcome === 'skipped-overlap') t.is(its, 0, `fire ${fire.id}`);
    else t.true(its <= 1, `fire ${fire.id} stopped by the shutdown`);
  }
  t.true(runs.every((r) => r.fire_id !== null && r.trigger === 'schedule' && r.status !== 'running'));

  // Never two runs of the source at once, across both replicas.
  for (let i = 1; i < runs.length; i++) {
    const before = runs[i - 1] as Run;
    const after = runs[i] as Run;
    t.true(after.started_at >= before.ended_at, `run ${after.id} started before run ${before.id} ended`);
  }

  // Every landing file was loaded once, by the first run.
  const [files] = await warehouse.db.query(
    sql`SELECT count(*)::int AS files, count(DISTINCT run_id)::int AS runs FROM fhir_etl.files`,
  );
  t.deepEqual(files, { files: 3, runs: 1 });
});
