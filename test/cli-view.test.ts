import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import test from 'ava';
import { runCli } from './helpers/cli.ts';
import { projectRoot } from './helpers/project.ts';

/** `fhir-etl view run|test|list`, run as a user would: none of them opens a database. */

const root = projectRoot;
const PATIENTS = join(root, 'examples/sample/Patient.ndjson');
const PATIENT_VIEW = join(root, 'schemas/views/patient.json');
const SUITE = join(root, 'test/sql-on-fhir-v2/tests');
const dir = mkdtempSync(join(tmpdir(), 'fhir-etl-cli-view-'));

const patientIds = readFileSync(PATIENTS, 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => (JSON.parse(line) as { id: string }).id);
const patientColumns = (
  JSON.parse(readFileSync(PATIENT_VIEW, 'utf8')) as { select: { column?: { name: string }[] }[] }
).select.flatMap((s) => (s.column ?? []).map((c) => c.name));

test('view run prints one NDJSON object per patient, columns in view order', async (t) => {
  const { code, stdout, stderr } = await runCli(['view', 'run', '--view', PATIENT_VIEW, '--input', PATIENTS]);
  t.is(code, 0, stderr);
  const rows = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  t.is(rows.length, patientIds.length);
  t.deepEqual(
    rows.map((row) => row.id),
    patientIds,
  );
  t.deepEqual(Object.keys(rows[0] ?? {}), patientColumns);
});

test('view run --format csv has the header and one quoted-as-needed line per patient', async (t) => {
  const { code, stdout, stderr } = await runCli([
    'view',
    'run',
    '--view',
    PATIENT_VIEW,
    '--input',
    PATIENTS,
    '--format',
    'csv',
  ]);
  t.is(code, 0, stderr);
  const lines = stdout.trimEnd().split('\n');
  t.is(lines[0], patientColumns.join(','));
  const records = parseCsv(stdout);
  t.is(records.length, patientIds.length + 1);
  t.true(records.every((record) => record.length === patientColumns.length));
  t.deepEqual(
    records.slice(1).map((record) => record[0]),
    patientIds,
  );
});

test('view run --format table renders a header, a rule and a line per patient', async (t) => {
  const { code, stdout, stderr } = await runCli([
    'view',
    'run',
    '--view',
    'patient',
    '--input',
    PATIENTS,
    '--format',
    'table',
    '--engine',
    'fhirpath',
  ]);
  t.is(code, 0, stderr);
  const lines = stdout.trimEnd().split('\n');
  t.true(lines[0]?.startsWith('id '));
  t.regex(lines[1] ?? '', /^-+ {2}-+/);
  t.is(lines.length, patientIds.length + 2);
});

test('view run reads gzip and stdin, reports bad lines and evaluation errors by file:line, exits 1', async (t) => {
  const strict = join(dir, 'strict.json');
  writeFileSync(
    strict,
    JSON.stringify({
      resourceType: 'ViewDefinition',
      name: 'strict',
      resource: 'Patient',
      select: [
        {
          column: [
            { name: 'id', path: 'id' },
            { name: 'given', path: 'name.given' },
          ],
        },
      ],
    }),
  );
  const text = [
    '{"resourceType":"Patient","id":"one","name":[{"given":["a"]}]}',
    'not json',
    '{"resourceType":"Patient","id":"two","name":[{"given":["a","b"]}]}',
    '{"resourceType":"Patient","id":"three"}',
    '',
  ].join('\n');
  const gz = join(dir, 'mixed.ndjson.gz');
  writeFileSync(gz, gzipSync(text));
  const fromFile = await runCli(['view', 'run', '--view', strict, '--input', gz, '--format', 'csv']);
  t.is(fromFile.code, 1);
  t.is(fromFile.stdout, 'id,given\none,a\nthree,\n');
  t.regex(fromFile.stderr, /mixed\.ndjson\.gz:2: line rejected: not valid JSON/);
  t.regex(fromFile.stderr, /mixed\.ndjson\.gz:3: .*Patient\/two/);

  const fromStdin = await runCli(['view', 'run', '--view', strict, '--input', '-'], { input: text });
  t.is(fromStdin.code, 1);
  t.is(fromStdin.stdout.trim().split('\n').length, 2);
  t.regex(fromStdin.stderr, /<stdin>:3: /);

  // Rejected lines alone are reported but do not fail the run.
  const onlyBadLine = await runCli(['view', 'run', '--view', strict, '--input', '-'], {
    input: 'not json\n{"resourceType":"Patient","id":"x"}\n',
  });
  t.is(onlyBadLine.code, 0, onlyBadLine.stderr);
  t.regex(onlyBadLine.stderr, /<stdin>:1: line rejected/);
});

test('csv quoting: commas, quotes and line breaks are quoted, quotes doubled, arrays as JSON', async (t) => {
  const view = join(dir, 'quoting.json');
  writeFileSync(
    view,
    JSON.stringify({
      resourceType: 'ViewDefinition',
      name: 'quoting',
      resource: 'Patient',
      select: [
        {
          column: [
            { name: 'id', path: 'id' },
            { name: 'family', path: 'name.family.first()' },
            { name: 'given', path: 'name.given', collection: true },
          ],
        },
      ],
    }),
  );
  const { code, stdout, stderr } = await runCli(
    ['view', 'run', '--view', view, '--input', '-', '--format', 'csv'],
    {
      input: `${JSON.stringify({ resourceType: 'Patient', id: 'q', name: [{ family: 'O"Brien, Jr.\nII', given: ['a', 'b'] }] })}\n`,
    },
  );
  t.is(code, 0, stderr);
  t.is(stdout, 'id,family,given\nq,"O""Brien, Jr.\nII","[""a"",""b""]"\n');
  t.deepEqual(parseCsv(stdout)[1], ['q', 'O"Brien, Jr.\nII', '["a","b"]']);
});

test('an invalid view exits 2 with a message naming the view and the JSON path', async (t) => {
  const broken = join(dir, 'broken.json');
  writeFileSync(
    broken,
    JSON.stringify({
      resourceType: 'ViewDefinition',
      name: 'broken',
      resource: 'Patient',
      select: [
        {
          column: [
            { name: 'id', path: 'id' },
            { name: 'bad name', path: 'gender' },
          ],
        },
      ],
    }),
  );
  const { code, stdout, stderr } = await runCli(['view', 'run', '--view', broken, '--input', PATIENTS]);
  t.is(code, 2);
  t.is(stdout, '');
  t.regex(stderr, /ViewDefinition 'broken'/);
  t.regex(stderr, /select\[0\]\.column\[1\]\.name/);
});

test('view test runs the whole official suite and ends with the tally', async (t) => {
  for (const engine of ['fast', 'fhirpath']) {
    const { code, stdout, stderr } = await runCli(['view', 'test', SUITE, '--engine', engine]);
    t.is(code, 0, stderr);
    const lines = stdout.trimEnd().split('\n');
    t.is(lines.at(-1), '134 passed, 0 failed');
    t.true(lines.includes('✔ basic.json › basic attribute'), lines.slice(0, 3).join('\n'));
  }
});

test('view test reports a failing case with its reason and exits 1', async (t) => {
  const file = join(dir, 'my-suite.json');
  writeFileSync(
    file,
    JSON.stringify({
      title: 'mine',
      resources: [{ resourceType: 'Patient', id: 'p1', gender: 'female' }],
      tests: [
        {
          title: 'gender',
          view: { resource: 'Patient', select: [{ column: [{ name: 'g', path: 'gender' }] }] },
          expect: [{ g: 'female' }],
        },
        {
          title: 'wrong',
          view: { resource: 'Patient', select: [{ column: [{ name: 'g', path: 'gender' }] }] },
          expect: [{ g: 'male' }],
        },
      ],
    }),
  );
  const { code, stdout } = await runCli(['view', 'test', file]);
  t.is(code, 1);
  const lines = stdout.trimEnd().split('\n');
  t.is(lines[0], '✔ my-suite.json › gender');
  t.regex(lines[1] ?? '', /^✘ my-suite\.json › wrong: expected 1 rows, got 1; missing \{"g":"male"\}/);
  t.is(lines.at(-1), '1 passed, 1 failed');
});

test('view list shows the shipped views and those of extra folders; duplicates are refused', async (t) => {
  const table = await runCli(['view', 'list']);
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /^patient +Patient +\d+ +One row per member/m);
  t.regex(table.stdout, /^eob_item +ExplanationOfBenefit +\d+ /m);

  const own = mkdtempSync(join(tmpdir(), 'fhir-etl-cli-own-views-'));
  writeFileSync(
    join(own, 'my_gender.json'),
    JSON.stringify({
      resourceType: 'ViewDefinition',
      name: 'my_gender',
      resource: 'Patient',
      description: 'Gender only.\nSecond line.',
      select: [{ column: [{ name: 'g', path: 'gender' }] }],
    }),
  );
  const json = await runCli(['view', 'list', '--views', own, '--json']);
  t.is(json.code, 0, json.stderr);
  const views = JSON.parse(json.stdout) as {
    name: string;
    resource: string;
    columns: number;
    description: string;
  }[];
  t.like(
    views.find((v) => v.name === 'patient'),
    { resource: 'Patient', columns: patientColumns.length },
  );
  t.truthy(views.find((v) => v.name === 'eob_item'));
  t.like(views.at(-1), { name: 'my_gender', columns: 1, description: 'Gender only.' });

  writeFileSync(join(own, 'patient_again.json'), readFileSync(PATIENT_VIEW));
  const duplicate = await runCli(['view', 'list', '--views', own]);
  t.is(duplicate.code, 2);
  t.regex(duplicate.stderr, /patient_again\.json/);
  t.regex(duplicate.stderr, /schemas\/views\/patient\.json/);
});

/** A small RFC 4180 reader, to check the output rather than trust it. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || record.length > 0) records.push([...record, field]);
  return records;
}
