import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { sql } from '@databases/pg';
import test from 'ava';
import { retryDelays } from '../pipeline/scheduler/index.ts';
import { runCli } from './helpers/cli.ts';
import { scratchDir, startScheduler, writeConfig, writeLanding } from './helpers/scheduler.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

const warehouse = useTestWarehouse(test);

test('retry waits start at retryDelaySeconds and double', (t) => {
  t.deepEqual(retryDelays(3, 60), [60, 120, 240]);
  t.deepEqual(retryDelays(0, 60), []);
});

test('a failed fire is retried, each retry its own run, until the retries are spent', async (t) => {
  const dir = scratchDir();
  const broken = writeLanding(dir, 0, 0, 'broken');
  const gzip = gzipSync(`${JSON.stringify({ resourceType: 'Patient', id: 'x' })}\n`.repeat(100));
  writeFileSync(join(broken, 'truncated.ndjson.gz'), gzip.subarray(0, gzip.length - 12));
  const config = writeConfig(
    dir,
    [{ name: 'broken', kind: 'files', path: broken, schedule: '* * * * * *' }],
    {
      retries: 2,
      retryDelaySeconds: 0.05,
    },
  );
  const scheduler = startScheduler(config, [], { databaseUrl: warehouse.url });
  const done = await scheduler.waitForLine((line) => line.event === 'fire.done' && line.outcome === 'failed');
  scheduler.child.kill('SIGTERM');
  t.is((await scheduler.exited).code, 0);

  const [fire] = await warehouse.db.query(
    sql`SELECT outcome, attempts, error FROM fhir_etl.schedule_fires WHERE id = ${done.fireId as number}`,
  );
  t.like(fire, { outcome: 'failed', attempts: 3 });
  t.regex(fire.error, /truncated\.ndjson\.gz/);
  const runs = await warehouse.db.query(
    sql`SELECT trigger, status FROM fhir_etl.runs WHERE fire_id = ${done.fireId as number} ORDER BY id`,
  );
  t.deepEqual(runs, [
    { trigger: 'schedule', status: 'failed' },
    { trigger: 'retry', status: 'failed' },
    { trigger: 'retry', status: 'failed' },
  ]);
  const retries = scheduler.lines.filter((l) => l.event === 'fire.retry' && l.fireId === done.fireId);
  t.deepEqual(
    retries.map((l) => l.delaySeconds),
    [0.05, 0.1],
  );
});

test('a schedule that cannot run is refused by path before the warehouse is opened', async (t) => {
  const dir = scratchDir();
  const config = writeConfig(dir, [
    { name: 'a', kind: 'files', path: dir, schedule: '61 * * * *' },
    { name: 'b', kind: 'files', path: dir, schedule: '0 2 * * *', timezone: 'Mars/Olympus' },
    { name: 'c', kind: 'files', path: dir },
  ]);
  const unreachable = 'postgres://127.0.0.1:1/nowhere';
  const all = await runCli(['--config', config, 'schedule'], { databaseUrl: unreachable });
  t.is(all.code, 2);
  t.regex(all.stderr, /sources\[0\]\.schedule: "61 \* \* \* \*" is not a valid cron expression/);
  t.regex(all.stderr, /sources\[1\]\.timezone: "Mars\/Olympus" is not an IANA time zone/);
  const unscheduled = await runCli(['--config', config, 'schedule', '--source', 'c'], {
    databaseUrl: unreachable,
  });
  t.is(unscheduled.code, 2);
  t.regex(unscheduled.stderr, /sources\[2\]\.schedule: source "c" has no schedule/);
});
