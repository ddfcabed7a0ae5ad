import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { CLI_ARGS, runCli } from './helpers/cli.ts';
import { createTestWarehouse, type TestWarehouse } from './helpers/warehouse.ts';
import { type PayerFixture, startPayer } from './helpers/payer.ts';

let warehouse: TestWarehouse;
let payer: PayerFixture;
let configFile: string;

test.before(async () => {
  warehouse = await createTestWarehouse();
  payer = await startPayer({ resources: ['Patient', 'ExplanationOfBenefit'] });
  configFile = join(tmpdir(), `fhir-etl-payer-${process.pid}.json`);
  const { file: _file, ...config } = payer.config;
  await writeFile(configFile, JSON.stringify(config));
});

test.after.always(async () => {
  await payer?.sandbox.close();
  await warehouse?.drop();
});

/** `fhir-etl auth login payer --no-browser`: the test reads the printed URL and plays the browser. */
function cliLogin(memberId: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        ...CLI_ARGS,
        '--config',
        configFile,
        'auth',
        'login',
        'payer',
        '--no-browser',
        '--login-hint',
        memberId,
      ],
      { env: { ...process.env, DATABASE_URL: warehouse.url }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    let browsed = false;
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      const url = /waiting for the browser/.test(stderr)
        ? /(http:\/\/\S+\/authorize\S*)/.exec(stderr)?.[1]
        : undefined;
      if (url && !browsed) {
        browsed = true;
        fetch(url).then((r) => r.text(), reject);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const cli = (...args: string[]) => runCli(['--config', configFile, ...args], { databaseUrl: warehouse.url });

test.serial('auth login, list, run with a refused type, and logout, from the command line', async (t) => {
  const login = await cliLogin('02-testmemid');
  t.is(login.code, 0, login.stderr);
  const patientId = payer.sandbox.members[1]!.patientId;
  t.regex(login.stdout, new RegExp(`logged in member 02-testmemid \\(Patient/${patientId}\\) of payer`));
  t.regex(login.stdout, /refresh token stored/);

  const list = await cli('auth', 'list', 'payer');
  t.is(list.code, 0, list.stderr);
  t.regex(list.stdout, new RegExp(`payer\\s+02-testmemid\\s+${patientId}`));

  const run = await cli('run');
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /ExplanationOfBenefit skipped: the server refuses it/);
  t.regex(run.stdout, /403/);

  // --member is the member id, as for send; a Patient id there is no member id.
  const wrong = await cli('auth', 'logout', 'payer', '--member', patientId);
  t.is(wrong.code, 2);
  t.regex(wrong.stderr, new RegExp(`no member ${patientId} logged in to payer \\(logged in: 02-testmemid;`));
  const logout = await cli('auth', 'logout', 'payer', '--member', '02-testmemid');
  t.is(logout.code, 0, logout.stderr);
  t.regex(logout.stdout, /logged out member 02-testmemid of payer/);
  const after = await cli('auth', 'list', 'payer');
  t.notRegex(after.stdout, new RegExp(patientId));
  const runAfter = await cli('run');
  t.is(runAfter.code, 1);
  t.regex(runAfter.stdout, /no member logins: run `fhir-etl auth login payer`/);
});

test.serial('send reports each resource and exits 1 when one was refused, 0 when all went', async (t) => {
  // A send token for Observations only: the server refuses the Condition with 403.
  const { file: _file, ...config } = payer.config;
  const narrow = join(tmpdir(), `fhir-etl-payer-send-${process.pid}.json`);
  const source = config.sources[0] as typeof payer.source;
  await writeFile(
    narrow,
    JSON.stringify({
      ...config,
      sources: [{ ...source, send: { ...source.send, scope: 'patient/Observation.c' } }],
    }),
  );
  const observation = join(tmpdir(), `fhir-etl-send-obs-${process.pid}.ndjson`);
  const condition = join(tmpdir(), `fhir-etl-send-cond-${process.pid}.ndjson`);
  const subject = { reference: `Patient/${payer.sandbox.members[0]!.patientId}` };
  await writeFile(
    observation,
    `${JSON.stringify({ resourceType: 'Observation', status: 'final', code: { text: 'ok' }, subject })}\n`,
  );
  await writeFile(
    condition,
    `${JSON.stringify({ resourceType: 'Condition', code: { text: 'asthma' }, subject })}\n`,
  );
  const send = (...files: string[]) =>
    runCli(['--config', narrow, 'send', '--source', 'payer', '--member', '01-testmemid', ...files], {
      databaseUrl: warehouse.url,
    });

  const mixed = await send(observation, condition);
  t.is(mixed.code, 1);
  t.regex(mixed.stdout, /created\s+Observation/);
  t.regex(mixed.stdout, /FAILED\s+Condition .*403.*does not allow creating Condition/);
  t.regex(mixed.stdout, /2 resources: 1 created, 0 already existed, 0 skipped, 1 failed/);

  const again = await send(observation);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /skipped\s+Observation/);

  // --resend-pending only re-sends what was never confirmed: a delivered resource stays skipped.
  const resend = await send('--resend-pending', observation);
  t.is(resend.code, 0, resend.stderr);
  t.regex(resend.stdout, /skipped\s+Observation/);
});
