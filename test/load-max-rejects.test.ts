import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import test from 'ava';
import { runCli } from './helpers/cli.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

// --max-rejects N / load.maxRejects, for pipelines that must stop on bad data: past N rejected
// lines and values that did not fit, the file rolls back and the load fails, naming it.

const warehouse = useTestWarehouse(test);
const dir = mkdtempSync(join(tmpdir(), 'fhir-etl-max-rejects-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

// Two rejected lines and one value that does not fit (shipped patient view: birth_date is a date).
const path = join(dir, 'bad.ndjson');
writeFileSync(
  path,
  [
    'not json',
    JSON.stringify({ resourceType: 'Patient', id: 'ok1', birthDate: '1970-01-01' }),
    JSON.stringify({ resourceType: 'NotAType', id: 'x' }),
    JSON.stringify({ resourceType: 'Patient', id: 'feb30', birthDate: '1970-02-30' }),
    '',
  ].join('\n'),
);

async function counts(source: string) {
  const [row] = await warehouse.db.query(sql`
    SELECT (SELECT count(*)::int FROM fhir_etl.files WHERE source = ${source}) AS files,
           (SELECT count(*)::int FROM fhir_etl.rejects WHERE source = ${source}) AS rejects,
           (SELECT count(*)::int FROM fhir_etl.value_errors WHERE source = ${source}) AS value_errors,
           (SELECT status FROM fhir_etl.runs WHERE source = ${source} ORDER BY id DESC LIMIT 1) AS status`);
  return row;
}

test.serial(
  'past --max-rejects the file rolls back and the load fails naming the file and the first bad line',
  async (t) => {
    const result = await runCli(['load', '--source', 'strict', '--max-rejects', '2', path], {
      databaseUrl: warehouse.url,
    });
    t.is(result.code, 1, result.stderr);
    t.regex(
      result.stdout + result.stderr,
      /bad\.ndjson: more than 2 rejected lines and values that did not fit their column/,
    );
    t.regex(result.stdout + result.stderr, /the first: line 1: not valid JSON/);
    t.regex(result.stdout + result.stderr, /rolled back/);
    t.deepEqual(await counts('strict'), { files: 0, rejects: 0, value_errors: 0, status: 'failed' });
    const [raw] = await warehouse.db.query(
      sql`SELECT count(*)::int AS n FROM fhir_raw.patient WHERE source = 'strict'`,
    );
    t.is(raw.n, 0);
  },
);

test.serial('at the limit the file loads; load.maxRejects in the config is the default', async (t) => {
  const atLimit = await runCli(['load', '--source', 'lenient', '--max-rejects', '3', path], {
    databaseUrl: warehouse.url,
  });
  t.is(atLimit.code, 0, atLimit.stderr);
  t.deepEqual(await counts('lenient'), { files: 1, rejects: 2, value_errors: 1, status: 'succeeded' });
  const config = join(dir, 'fhir-etl.config.yaml');
  writeFileSync(config, 'load:\n  maxRejects: 0\n');
  const strict = await runCli(['load', '--config', config, '--source', 'configured', path], {
    databaseUrl: warehouse.url,
  });
  t.is(strict.code, 1);
  t.regex(strict.stdout + strict.stderr, /more than 0 rejected lines/);
  t.is((await counts('configured')).files, 0);
  const bad = await runCli(['load', '--max-rejects', '-1', path], { databaseUrl: warehouse.url });
  t.is(bad.code, 2);
  t.regex(bad.stderr, /--max-rejects must be a whole number/);
});
