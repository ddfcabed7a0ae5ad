import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import test from 'ava';
import { pino } from 'pino';
import { parseConfigText } from '../config/index.ts';
import { runSources } from '../pipeline/run.ts';
import { runCli } from './helpers/cli.ts';
import { SAMPLE_DIR } from './helpers/fixtures.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

/**
 * A mart whose view tables lack a column it reads (someone dropped it by hand) is left out, not
 * a failed load, and never silently: the load says which marts and why, a scheduled run logs
 * it, and `fhir-etl rebuild` gives the tables their columns back and the marts return.
 * The steps run in order on one warehouse.
 */
const warehouse = useTestWarehouse(test);
const dir = mkdtempSync(join(tmpdir(), 'fhir-etl-marts-left-out-'));

async function analyticsViews(): Promise<string[]> {
  const rows: Array<{ viewname: string }> = await warehouse.db.query(
    sql`SELECT viewname FROM pg_views WHERE schemaname = 'analytics' ORDER BY viewname`,
  );
  return rows.map((row) => row.viewname);
}

test.serial('loaded: every mart is made', async (t) => {
  const result = await runCli(['load', '--source', 'sample', SAMPLE_DIR], { databaseUrl: warehouse.url });
  t.is(result.code, 0, result.stderr);
  t.true((await analyticsViews()).includes('member_month'));
  t.notRegex(result.stdout, /left out/);
});

test.serial(
  'a column dropped by hand: the load goes on and names the marts it left out, and why',
  async (t) => {
    await warehouse.db.query(sql`ALTER TABLE fhir.coverage DROP COLUMN payor_id CASCADE`);
    const file = join(dir, 'one-patient.ndjson');
    writeFileSync(file, '{"resourceType":"Patient","id":"left-out-1"}\n');

    const result = await runCli(['load', '--source', 'sample', file], { databaseUrl: warehouse.url });

    t.is(result.code, 0, result.stderr);
    t.regex(result.stdout, /4 analytics marts left out, the view tables lacking what they read/);
    t.regex(result.stdout, /analytics\.member: column c\.payor_id does not exist/);
    t.regex(result.stdout, /analytics\.member_month: column c\.payor_id does not exist/);
    t.regex(result.stdout, /analytics\.pmpm: it reads analytics\.member_month, which was skipped/);
    t.regex(result.stdout, /analytics\.utilization: it reads analytics\.member_month, which was skipped/);
    t.false((await analyticsViews()).includes('member_month'));
    t.true((await analyticsViews()).includes('claim'), 'the marts that do not read it are made');
  },
);

test.serial('a run logs the marts it left out as a warning', async (t) => {
  const folder = join(dir, 'landing');
  mkdirSync(folder);
  writeFileSync(join(folder, 'Patient.ndjson'), '{"resourceType":"Patient","id":"left-out-2"}\n');
  const config = parseConfigText(
    ['sources:', `  - { name: landing, kind: files, path: ${JSON.stringify(folder)} }`].join('\n'),
    join(dir, 'fhir-etl.config.yaml'),
    {},
  );
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });

  const results = await runSources(warehouse.db, config, { logger });

  t.is(results[0]?.status, 'succeeded');
  const warning = lines
    .map((line) => JSON.parse(line) as { event?: string; level: number; marts?: Array<{ mart: string }> })
    .find((entry) => entry.event === 'run.marts_skipped');
  t.is(warning?.level, 40);
  t.deepEqual(
    warning?.marts?.map((m) => m.mart),
    ['member', 'member_month', 'pmpm', 'utilization'],
  );
});

test.serial('fhir-etl rebuild gives the view table its column back, and the marts return', async (t) => {
  const result = await runCli(['rebuild'], { databaseUrl: warehouse.url });

  t.is(result.code, 0, result.stderr);
  t.notRegex(result.stderr, /left out/);
  const views = await analyticsViews();
  for (const mart of ['member', 'member_month', 'pmpm', 'utilization']) t.true(views.includes(mart), mart);
});
