import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import test from 'ava';
import { runCli } from './helpers/cli.ts';
import { SAMPLE_DIR } from './helpers/fixtures.ts';
import { createTestWarehouse, type TestWarehouse } from './helpers/warehouse.ts';

const PATIENT_GENDER_VIEW = {
  resourceType: 'ViewDefinition',
  name: 'patient_gender',
  resource: 'Patient',
  status: 'active',
  select: [
    {
      column: [
        { name: 'id', path: 'getResourceKey()' },
        { name: 'gender', path: 'gender' },
      ],
    },
  ],
};

let warehouse: TestWarehouse;
let configFile: string;

test.before(async () => {
  warehouse = await createTestWarehouse();
  const dir = await mkdtemp(join(tmpdir(), 'fhir-etl-run-'));
  configFile = join(dir, 'fhir-etl.config.yaml');
  await mkdir(join(dir, 'my-views'));
  await writeFile(join(dir, 'my-views', 'patient_gender.json'), JSON.stringify(PATIENT_GENDER_VIEW));
  await writeFile(
    configFile,
    `views: [./my-views]\nsources:\n  - name: landing\n    kind: files\n    path: ${SAMPLE_DIR}\n`,
  );
});

test.after.always(async () => {
  await warehouse?.drop();
});

test.serial('run loads a landing-folder source into raw and view tables, recorded as a run', async (t) => {
  const result = await runCli(['--config', configFile, 'run'], { databaseUrl: warehouse.url });
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /landing\s+\d+\s+succeeded/);
  const [run] = await warehouse.db.query(
    sql`SELECT command, source, status, resources FROM fhir_etl.runs ORDER BY id DESC LIMIT 1`,
  );
  t.like(run, { command: 'run', source: 'landing', status: 'succeeded' });
  t.true(run.resources > 0);
  const [patients] = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir.patient WHERE _source = 'landing'`,
  );
  t.true(patients.n > 0);
});

test.serial("the config's own views load beside the shipped ones and are listed", async (t) => {
  const [row] = await warehouse.db.query(sql`SELECT count(*)::int AS n FROM fhir.patient_gender`);
  const [patients] = await warehouse.db.query(sql`SELECT count(*)::int AS n FROM fhir.patient`);
  t.is(row.n, patients.n);
  const list = await runCli(['--config', configFile, 'view', 'list', '--json'], {
    databaseUrl: warehouse.url,
  });
  t.is(list.code, 0, list.stderr);
  const names = (JSON.parse(list.stdout) as Array<{ name: string }>).map((v) => v.name);
  t.true(names.includes('patient_gender') && names.includes('explanation_of_benefit'));
});

test.serial('a second run finds every file committed and loads nothing', async (t) => {
  const result = await runCli(['--config', configFile, '--json', 'run'], { databaseUrl: warehouse.url });
  t.is(result.code, 0, result.stderr);
  const [run] = await warehouse.db.query(
    sql`SELECT files, files_skipped, resources FROM fhir_etl.runs ORDER BY id DESC LIMIT 1`,
  );
  t.is(run.files, 0);
  t.is(run.resources, 0);
  t.true(run.files_skipped > 0);
});

test('an unknown --source is a usage error naming the configured ones', async (t) => {
  const result = await runCli(['--config', configFile, 'run', '--source', 'nope'], {
    databaseUrl: warehouse.url,
  });
  t.is(result.code, 2);
  t.regex(result.stderr, /no source named nope .*configured: landing/);
});

test('a config with problems is refused before anything runs, exit code 2', async (t) => {
  const bad = join(await mkdtemp(join(tmpdir(), 'fhir-etl-run-')), 'bad.yaml');
  await writeFile(bad, 'sources:\n  - name: x\n    kind: bulk\n    baseUrl: nowhere\n');
  const result = await runCli(['--config', bad, 'run'], { databaseUrl: warehouse.url });
  t.is(result.code, 2);
  t.regex(result.stderr, /sources\[0\]\.baseUrl: must be an http\(s\) URL/);
});

test('--since must be a FHIR instant', async (t) => {
  const result = await runCli(['--config', configFile, 'run', '--since', 'yesterday'], {
    databaseUrl: warehouse.url,
  });
  t.is(result.code, 2);
  t.regex(result.stderr, /--since must be a FHIR instant/);
});

test('--since and --until refuse a well-shaped date that is not an instant (month 13, hour 99)', async (t) => {
  for (const [flag, value] of [
    ['--since', '2026-13-01T00:00:00Z'],
    ['--until', '2026-01-01T99:00:00Z'],
  ] as const) {
    const result = await runCli(['--config', configFile, 'run', flag, value], {
      databaseUrl: warehouse.url,
    });
    t.is(result.code, 2, `${flag} ${value}`);
    t.true(
      result.stderr.includes(`${flag} must be a FHIR instant such as 2026-01-31T00:00:00Z, got "${value}"`),
    );
  }
});

test('--until must be a FHIR instant', async (t) => {
  const result = await runCli(['--config', configFile, 'run', '--until', 'tomorrow'], {
    databaseUrl: warehouse.url,
  });
  t.is(result.code, 2);
  t.regex(result.stderr, /--until must be a FHIR instant/);
});

test.serial(
  'a source another process is running is not run twice: the run is recorded skipped, not failed, and exits 3',
  async (t) => {
    const result = await warehouse.db.task(async (connection) => {
      // What a running `fhir-etl schedule` or `run` holds while it runs the source.
      await connection.query(sql`SELECT pg_advisory_lock(74110100, hashtext('landing'))`);
      try {
        return await runCli(['--config', configFile, 'run'], { databaseUrl: warehouse.url });
      } finally {
        await connection.query(sql`SELECT pg_advisory_unlock(74110100, hashtext('landing'))`);
      }
    });
    t.is(result.code, 3, result.stderr);
    t.regex(result.stdout, /landing\s+\d+\s+skipped/);
    t.regex(result.stdout, /landing skipped: source landing is already being run by another process/);
    t.notRegex(result.stdout, /failed/);
    const [run] = await warehouse.db.query(
      sql`SELECT status, error, ended_at FROM fhir_etl.runs ORDER BY id DESC LIMIT 1`,
    );
    t.is(run.status, 'skipped');
    t.regex(run.error, /already being run/);
    t.truthy(run.ended_at);
  },
);

test("load and status go to the config file's warehouse.url when no URL is given", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fhir-etl-run-'));
  const config = join(dir, 'with-url.yaml');
  await writeFile(config, `warehouse:\n  url: ${warehouse.url}\n`);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.DATABASE_URL;
  const load = await runCli(
    ['--config', config, 'load', '--source', 'by-config', join(SAMPLE_DIR, 'Patient.ndjson')],
    { env },
  );
  t.is(load.code, 0, load.stderr);
  const [row] = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir_raw.patient WHERE source = 'by-config'`,
  );
  t.true(row.n > 0, 'the rows landed in the configured warehouse, not the embedded one');
  const status = await runCli(['--config', config, '--json', 'status'], { env });
  t.is(status.code, 0, status.stderr);
  t.regex(status.stdout, /by-config/);
});

test.serial(
  '--since and --full-refresh on a landing folder are said to be ignored, not silently dropped',
  async (t) => {
    const result = await runCli(
      ['--config', configFile, 'run', '--since', '2026-01-01T00:00:00Z', '--full-refresh'],
      { databaseUrl: warehouse.url },
    );
    t.is(result.code, 0, result.stderr);
    t.regex(
      result.stdout,
      /landing warning: --since, --full-refresh ignored: a files source does not support them/,
    );
  },
);
