import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { sql } from '@databases/pg';
import test from 'ava';
import { runCli } from './helpers/cli.ts';
import { SAMPLE_DIR } from './helpers/fixtures.ts';
import { createTestWarehouse, type TestWarehouse } from './helpers/warehouse.ts';

let warehouse: TestWarehouse;
const dir = mkdtempSync(join(tmpdir(), 'fhir-etl-cli-'));
test.before(async () => {
  warehouse = await createTestWarehouse();
});
test.after.always(async () => {
  await warehouse?.drop();
});

test.serial('load prints rows per type, rejects with how to list them, and exits 0', async (t) => {
  const path = join(dir, 'mixed.ndjson');
  writeFileSync(path, '{"resourceType":"Patient","id":"c1","gender":"male"}\nnot json\n');
  const result = await runCli(['load', '--source', 'cli', path], { databaseUrl: warehouse.url });
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /Patient\s+1/);
  t.regex(result.stdout, /run \d+ succeeded: 1 resources from 1 files/);
  t.regex(result.stdout, /resources\/s/);
  t.regex(result.stdout, /1 lines rejected: list them with `fhir-etl rejects --run \d+`/);
  const rejects = await runCli(['rejects', '--json'], { databaseUrl: warehouse.url });
  t.is(rejects.code, 0);
  const [reject] = rejects.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.like(reject, { line: 2, raw: 'not json', file: path });
  const [view] = await warehouse.db.query(
    sql`SELECT gender FROM fhir.patient WHERE _source = 'cli' AND id = 'c1'`,
  );
  t.is(view.gender, 'male');
});

test.serial('load reads gzip from standard input with -', async (t) => {
  const input = gzipSync('{"resourceType":"Patient","id":"from-stdin"}\n');
  const result = await runCli(['load', '--source', 'stdin', '-'], { databaseUrl: warehouse.url, input });
  t.is(result.code, 0, result.stderr);
  const rows = await warehouse.db.query(sql`SELECT id FROM fhir_raw.patient WHERE source = 'stdin'`);
  t.deepEqual(
    rows.map((r: { id: string }) => r.id),
    ['from-stdin'],
  );
});

test.serial('--json logs one JSON object per line, with the run summary last', async (t) => {
  const result = await runCli(['--json', 'load', '--source', 'json', SAMPLE_DIR], {
    databaseUrl: warehouse.url,
  });
  t.is(result.code, 0, result.stderr);
  const lines = result.stderr
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const done = lines.at(-1);
  t.is(done.event, 'load.done');
  t.is(done.status, 'succeeded');
  t.true(done.resources > 0);
  t.true(lines.some((l) => l.event === 'file.done'));
});

test.serial('an unreadable path exits 2 before anything is written', async (t) => {
  const [{ before }] = await warehouse.db.query(sql`SELECT count(*)::int AS before FROM fhir_etl.runs`);
  const result = await runCli(['load', join(dir, 'missing.ndjson')], { databaseUrl: warehouse.url });
  t.is(result.code, 2);
  t.regex(result.stderr, /cannot read .*missing\.ndjson: no such file or folder/);
  const [{ after }] = await warehouse.db.query(sql`SELECT count(*)::int AS after FROM fhir_etl.runs`);
  t.is(after, before);
});

test.serial('a corrupt .gz exits 1, names the file, and commits none of it', async (t) => {
  const path = join(dir, 'broken.ndjson.gz');
  const whole = gzipSync('{"resourceType":"Patient","id":"gz1"}\n'.repeat(50));
  writeFileSync(path, whole.subarray(0, whole.length - 8));
  const result = await runCli(['load', '--source', 'gz', path], { databaseUrl: warehouse.url });
  t.is(result.code, 1);
  t.regex(result.stdout, /FAILED .*broken\.ndjson\.gz: .*corrupt or truncated gzip/);
  const rows = await warehouse.db.query(sql`SELECT 1 FROM fhir_raw.patient WHERE source = 'gz'`);
  t.is(rows.length, 0);
});

test.serial('an unreachable database exits 1 with the address and no password', async (t) => {
  const result = await runCli(['load', SAMPLE_DIR], { databaseUrl: 'postgres://u:hunter2@127.0.0.1:1/x' });
  t.is(result.code, 1);
  t.regex(result.stderr, /cannot connect to PostgreSQL at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x/);
  t.notRegex(result.stderr, /hunter2/);
});

test.serial('a usage mistake exits 2', async (t) => {
  const result = await runCli(['lod'], { databaseUrl: warehouse.url });
  t.is(result.code, 2);
  t.regex(result.stderr, /unknown command 'lod'/);
});

test.serial('status shows runs, committed files and table sizes; --json for machines', async (t) => {
  const text = await runCli(['status'], { databaseUrl: warehouse.url });
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /recent runs/);
  t.regex(text.stdout, /fhir_raw\.patient/);
  t.regex(text.stdout, /fhir\.eob_item/);
  const json = await runCli(['status', '--json'], { databaseUrl: warehouse.url });
  const status = JSON.parse(json.stdout);
  t.true(status.runs.length >= 3);
  t.true(
    status.tables.some(
      (table: { table: string; rows: number }) => table.table === 'fhir_raw.patient' && table.rows > 0,
    ),
  );
  t.true(status.sources.some((s: { source: string }) => s.source === 'json'));
});

test.serial('rebuild recomputes view tables from fhir_raw', async (t) => {
  await warehouse.db.query(sql`DELETE FROM fhir.patient`);
  const result = await runCli(['rebuild', '--view', 'patient'], { databaseUrl: warehouse.url });
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /patient/);
  const [{ raw }] = await warehouse.db.query(
    sql`SELECT count(*)::int AS raw FROM fhir_raw.patient WHERE NOT deleted`,
  );
  const [{ rows }] = await warehouse.db.query(sql`SELECT count(*)::int AS rows FROM fhir.patient`);
  t.is(rows, raw);
  const unknown = await runCli(['rebuild', '--view', 'nope'], { databaseUrl: warehouse.url });
  t.is(unknown.code, 2);
});
