import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { sql } from '@databases/pg';
import test from 'ava';
import { runCli } from './helpers/cli.ts';
import {
  type SchedulerProcess,
  scratchDir,
  startScheduler,
  writeConfig,
  writeLanding,
} from './helpers/scheduler.ts';
import { createTestWarehouse, type TestWarehouse } from './helpers/warehouse.ts';

let warehouse: TestWarehouse;
let scheduler: SchedulerProcess | undefined;
test.before(async () => {
  warehouse = await createTestWarehouse();
});
test.after.always(async () => {
  scheduler?.child.kill('SIGKILL');
  await warehouse?.drop();
});

/** One sample of the Prometheus text format: `name{label="value",...} number`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): { samples: Sample[]; types: Record<string, string> } {
  const samples: Sample[] = [];
  const types: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types[type[1] as string] = type[2] as string;
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) continue;
    const labels = Object.fromEntries(
      [...(sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    samples.push({ name: sample[1] as string, labels, value: Number(sample[3]) });
  }
  return { samples, types };
}

function valueOf(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find(
    (s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value),
  )?.value;
}

test('the metrics endpoint reports the runs recorded in the warehouse, read at each scrape', async (t) => {
  const dir = scratchDir();
  const landing = writeLanding(dir, 2, 10);
  const broken = join(dir, 'broken');
  writeLanding(dir, 0, 0, 'broken');
  // A gzip stream cut short: the file fails to load, so every run of the source fails.
  const gzip = gzipSync(`${JSON.stringify({ resourceType: 'Patient', id: 'x' })}\n`.repeat(100));
  writeFileSync(join(broken, 'truncated.ndjson.gz'), gzip.subarray(0, gzip.length - 12));
  // Schedules that do not come due during the test: the runs here are started by hand.
  const config = writeConfig(dir, [
    { name: 'good', kind: 'files', path: landing, schedule: '0 0 1 1 *' },
    { name: 'broken', kind: 'files', path: broken, schedule: '0 0 1 1 *' },
  ]);
  for (let i = 0; i < 2; i++) {
    const run = await runCli(['--config', config, 'run'], { databaseUrl: warehouse.url });
    t.is(run.code, 1, run.stderr);
  }

  scheduler = startScheduler(config, ['--metrics-port', '0'], { databaseUrl: warehouse.url });
  const listening = await scheduler.waitForLine((line) => line.event === 'metrics.listening');
  const url = listening.url as string;
  t.regex(url, /^http:\/\/127\.0\.0\.1:\d+$/);

  const health = await fetch(`${url}/healthz`);
  t.is(health.status, 200);
  t.is(await health.text(), 'ok\n');

  const scraped = await fetch(`${url}/metrics`);
  t.is(scraped.status, 200);
  t.regex(scraped.headers.get('content-type') ?? '', /^text\/plain/);
  const { samples, types } = parseExposition(await scraped.text());
  const [{ now }] = await warehouse.db.query(
    sql`SELECT extract(epoch FROM clock_timestamp())::float8 AS now`,
  );

  t.is(types.fhir_etl_runs_total, 'counter');
  t.is(types.fhir_etl_freshness_seconds, 'gauge');
  const byStatus: Array<{ source: string; status: string; trigger: string; runs: number }> = await warehouse
    .db.query(sql`
      SELECT source, status, trigger, count(*)::int AS runs FROM fhir_etl.runs GROUP BY 1, 2, 3`);
  t.deepEqual(byStatus.map((r) => [r.source, r.status, r.trigger, r.runs]).sort(), [
    ['broken', 'failed', 'manual', 2],
    ['good', 'succeeded', 'manual', 2],
  ]);
  for (const row of byStatus) {
    t.is(
      valueOf(samples, 'fhir_etl_runs_total', {
        source: row.source,
        status: row.status,
        trigger: row.trigger,
      }),
      row.runs,
    );
  }
  t.is(samples.filter((s) => s.name === 'fhir_etl_runs_total').length, byStatus.length);

  t.is(valueOf(samples, 'fhir_etl_resources_loaded_total', { source: 'good' }), 20);
  t.is(valueOf(samples, 'fhir_etl_view_rows_loaded_total', { source: 'good', view: 'patient' }), 20);
  t.is(valueOf(samples, 'fhir_etl_rejects_total', { source: 'good' }), 0);
  t.is(valueOf(samples, 'fhir_etl_runs_running', { source: 'good' }), 0);
  t.is(
    valueOf(samples, 'fhir_etl_last_run_duration_seconds', { source: 'broken', status: 'failed' }) !==
      undefined,
    true,
  );

  const [success] = await warehouse.db.query(sql`
    SELECT extract(epoch FROM max(ended_at))::float8 AS at FROM fhir_etl.runs
    WHERE source = 'good' AND status = 'succeeded'`);
  t.is(valueOf(samples, 'fhir_etl_last_success_timestamp_seconds', { source: 'good' }), success.at);
  t.is(valueOf(samples, 'fhir_etl_last_success_timestamp_seconds', { source: 'broken' }), undefined);
  const freshness = valueOf(samples, 'fhir_etl_freshness_seconds', { source: 'good' }) as number;
  t.true(freshness > 0 && freshness <= now - success.at, `freshness ${freshness}`);
  t.is(valueOf(samples, 'fhir_etl_freshness_seconds', { source: 'broken' }), undefined);

  // A run by another process (a CronJob, another replica) shows at the next scrape.
  const again = await runCli(['--config', config, 'run', '--source', 'good'], { databaseUrl: warehouse.url });
  t.is(again.code, 0, again.stderr);
  const rescraped = parseExposition(await (await fetch(`${url}/metrics`)).text());
  t.is(
    valueOf(rescraped.samples, 'fhir_etl_runs_total', {
      source: 'good',
      status: 'succeeded',
      trigger: 'manual',
    }),
    3,
  );

  scheduler.child.kill('SIGTERM');
  t.is((await scheduler.exited).code, 0);
});
