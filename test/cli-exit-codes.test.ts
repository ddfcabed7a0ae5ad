import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { reportFailure } from '../bin/main.ts';
import { FhirEtlError } from '../errors/index.ts';
import { runCli } from './helpers/cli.ts';
import { SAMPLE_DIR } from './helpers/fixtures.ts';
import { runMain } from './helpers/main.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

/**
 * One exit-code rule for every command (README): 0 ok, 1 a run failed, 2 a usage, config,
 * ViewDefinition or input error found before loading, 3 skipped. Each row is a bad input, the
 * code it must exit with and what the message must say; none may print a stack trace.
 */
const warehouse = useTestWarehouse(test);
const dir = mkdtempSync(join(tmpdir(), 'fhir-etl-exit-'));
const patients = join(SAMPLE_DIR, 'Patient.ndjson');

function viewsDir(name: string, views: Record<string, unknown>): string {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  for (const [file, view] of Object.entries(views))
    writeFileSync(join(folder, file), typeof view === 'string' ? view : JSON.stringify(view));
  return folder;
}

const longColumn = 'c'.repeat(200);
const longColumnDir = viewsDir('long-column', {
  'wide.json': {
    resourceType: 'ViewDefinition',
    name: 'wide_patient',
    resource: 'Patient',
    select: [{ column: [{ name: longColumn, path: 'id', type: 'id' }] }],
  },
});
const longViewName = 'v'.repeat(64);
const longViewDir = viewsDir('long-view', {
  'long.json': {
    resourceType: 'ViewDefinition',
    name: longViewName,
    resource: 'Patient',
    select: [{ column: [{ name: 'id', path: 'id', type: 'id' }] }],
  },
});
const badPathDir = viewsDir('bad-path', {
  'bad.json': {
    resourceType: 'ViewDefinition',
    name: 'bad_path',
    resource: 'Patient',
    select: [{ column: [{ name: 'id', path: 'name.where(', type: 'id' }] }],
  },
});
const notJsonDir = viewsDir('not-json', { 'broken.json': '{ "resourceType": ' });
const payerConfig = join(dir, 'payer.yaml');
writeFileSync(
  payerConfig,
  [
    'sources:',
    '  - name: payer',
    '    kind: fhir-rest',
    '    baseUrl: http://127.0.0.1:1/payer/r4',
    '    resources: [Patient]',
    '    auth:',
    '      type: authorization_code',
    '      authorizeUrl: http://127.0.0.1:1/authorize',
    '      tokenUrl: http://127.0.0.1:1/token',
    '      clientId: payer-client',
    '      redirectUri: http://127.0.0.1:2/callback',
    '    send: { clientId: payer-client, clientSecret: s, scope: patient/*.c }',
    '',
  ].join('\n'),
);

interface Row {
  title: string;
  args: () => string[];
  code: number;
  message: RegExp;
}

const rows: Row[] = [
  {
    title: '`view run` of a view with a 200-character column name',
    args: () => ['view', 'run', '--view', join(longColumnDir, 'wide.json'), '--input', patients],
    code: 2,
    message:
      /wide_patient.* at select\[0\]\.column\[0\]\.name: column name 'c{20}\.\.\.' is 200 characters long; a table or column name may have at most 60/,
  },
  {
    title: '`load` with a view whose column name PostgreSQL cannot hold',
    args: () => ['load', '--database-url', warehouse.url, '--views', longColumnDir, patients],
    code: 2,
    message: /at select\[0\]\.column\[0\]\.name: column name 'c{20}\.\.\.' is 200 characters long/,
  },
  {
    title: '`load` with a view whose name PostgreSQL cannot hold',
    args: () => ['load', '--database-url', warehouse.url, '--views', longViewDir, patients],
    code: 2,
    message: /at name: view name 'v{20}\.\.\.' is 64 characters long/,
  },
  {
    title: '`load` with a view whose FHIRPath does not parse (exit 2, as from `view run`)',
    args: () => ['load', '--database-url', warehouse.url, '--views', badPathDir, patients],
    code: 2,
    message: /ViewDefinition 'bad_path' .* at select\[0\]\.column\[0\]\.path: invalid FHIRPath/,
  },
  {
    title: '`view run` with the same view',
    args: () => ['view', 'run', '--view', join(badPathDir, 'bad.json'), '--input', patients],
    code: 2,
    message: /ViewDefinition 'bad_path' .* at select\[0\]\.column\[0\]\.path: invalid FHIRPath/,
  },
  {
    title: '`load` with a view file that is not JSON',
    args: () => ['load', '--database-url', warehouse.url, '--views', notJsonDir, patients],
    code: 2,
    message: /ViewDefinition 'broken' .*: not valid JSON/,
  },
  {
    title: '`rebuild` with a view folder holding a bad view',
    args: () => ['rebuild', '--database-url', warehouse.url, '--views', badPathDir],
    code: 2,
    message: /invalid FHIRPath/,
  },
  {
    title: '`load` with a views folder that does not exist',
    args: () => ['load', '--database-url', warehouse.url, '--views', join(dir, 'nowhere'), patients],
    code: 2,
    message: /views folder .*nowhere does not exist \[VIEWS_DIR_UNREADABLE\]/,
  },
  {
    title: '`load` of a file that does not exist',
    args: () => ['load', '--database-url', warehouse.url, join(dir, 'missing.ndjson')],
    code: 2,
    message: /cannot read .*missing\.ndjson: no such file or folder \[INPUT_UNREADABLE\]/,
  },
  {
    title: '`send` of a file that does not exist',
    args: () => [
      'send',
      '--database-url',
      warehouse.url,
      '--config',
      payerConfig,
      '--source',
      'payer',
      '--member',
      '01-testmemid',
      join(dir, 'missing.ndjson'),
    ],
    code: 2,
    message: /missing\.ndjson: cannot read the file: no such file \[SEND_INPUT_INVALID\]/,
  },
  {
    title: '`run` of a source the config does not have',
    args: () => ['run', '--database-url', warehouse.url, '--config', payerConfig, '--source', 'nope'],
    code: 2,
    message: /no source named nope .*configured: payer/,
  },
  {
    title: 'a config file that does not parse',
    args: () => ['run', '--config', join(SAMPLE_DIR, 'Patient.ndjson')],
    code: 2,
    message: /\[CONFIG_INVALID\]/,
  },
  {
    title: 'an option value that is not a number',
    args: () => ['load', '--concurrency', 'many', patients],
    code: 2,
    message: /--concurrency must be a positive whole number, got "many"/,
  },
  {
    title: 'a warehouse that cannot be reached is a failed run, not an input error',
    args: () => ['load', '--database-url', 'postgres://u:pw@127.0.0.1:1/x', patients],
    code: 1,
    message: /cannot connect to PostgreSQL at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x/,
  },
];

for (const row of rows) {
  test.serial(`${row.title}: exit ${row.code}`, async (t) => {
    const result = await runMain(row.args());
    t.is(result.code, row.code, result.stderr);
    t.regex(result.stderr, row.message);
    t.notRegex(result.stderr, /unexpected error|\n\s+at /);
  });
}

test.serial(
  'a real spawn: load --views with a 200-character column name exits 2, no stack trace',
  async (t) => {
    const result = await runCli(['load', '--views', longColumnDir, patients], { databaseUrl: warehouse.url });
    t.is(result.code, 2, result.stderr);
    t.regex(result.stderr, /column name 'c{20}\.\.\.' is 200 characters long/);
    t.notRegex(result.stderr, /unexpected error|\n\s+at /);
  },
);

test('a bug (an error no user can cause) prints "unexpected error", asks for a report, shows the stack: exit 1', (t) => {
  const written: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = (chunk: string) => written.push(chunk) > 0;
  let code: number;
  let userCode: number;
  try {
    code = reportFailure(new TypeError('x is not a function'));
    userCode = reportFailure(new FhirEtlError('the thing is wrong', { code: 'THING', kind: 'input' }));
  } finally {
    process.stderr.write = write;
  }
  t.is(code, 1);
  t.regex(written[0] ?? '', /^fhir-etl: unexpected error: this is a bug in fhir-etl\. Please report it/);
  t.regex(written[0] ?? '', /TypeError: x is not a function\n\s+at /);
  t.is(userCode, 2);
  t.is(written[1], 'fhir-etl: the thing is wrong [THING]\n');
});
