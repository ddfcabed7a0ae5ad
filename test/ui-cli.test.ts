import { spawn } from 'node:child_process';
import { once } from 'node:events';
import test from 'ava';
import { CLI_ARGS, runCli } from './helpers/cli.ts';
import { createReaderRole, type ReaderRole } from './helpers/console.ts';
import { writeConfigFile } from './helpers/bulk-run.ts';
import { createTestWarehouse, type TestWarehouse } from './helpers/warehouse.ts';

/** `fhir-etl ui` as a user runs it. */

let warehouse: TestWarehouse;
let reader: ReaderRole;

test.before(async () => {
  warehouse = await createTestWarehouse();
  reader = await createReaderRole(warehouse);
});
test.after.always(async () => {
  await reader?.drop();
  await warehouse?.drop();
});

const withoutUiAuth = (): NodeJS.ProcessEnv => {
  const env = { ...process.env };
  delete env.FHIR_ETL_UI_TOKEN;
  delete env.FHIR_ETL_UI_USER;
  delete env.FHIR_ETL_UI_PASSWORD;
  return env;
};

test('fhir-etl ui --host 0.0.0.0 without authentication is refused, exit 2, before opening the warehouse', async (t) => {
  const result = await runCli(
    ['--database-url', 'postgres://127.0.0.1:1/nowhere', 'ui', '--host', '0.0.0.0'],
    {
      env: withoutUiAuth(),
    },
  );
  t.is(result.code, 2, result.stderr);
  t.regex(result.stderr, /0\.0\.0\.0.*FHIR_ETL_UI_TOKEN.*\[UI_AUTH_REQUIRED\]/);
});

test('a bearer token too short to be a secret is refused, exit 2', async (t) => {
  const result = await runCli(['ui'], { env: { ...withoutUiAuth(), FHIR_ETL_UI_TOKEN: 'letmein' } });
  t.is(result.code, 2);
  t.regex(result.stderr, /FHIR_ETL_UI_TOKEN must be at least 16 characters \[UI_AUTH_CONFIG\]/);
});

test('fhir-etl ui serves the console through the read-only role, and stops on SIGTERM', async (t) => {
  const config = await writeConfigFile('fhir-etl-ui-cli-', ['warehouse:', `  readerUrl: ${reader.url}`]);
  const child = spawn(
    process.execPath,
    [...CLI_ARGS, '--config', config, '--database-url', warehouse.url, 'ui', '--port', '0'],
    { env: withoutUiAuth(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /console: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('close', () => reject(new Error(`ui exited: ${stdout}\n${stderr}`)));
  });
  t.regex(stdout, new RegExp(`reading as ${reader.name}`));
  const page = await fetch(url);
  t.is(page.status, 200);
  t.regex(await page.text(), /<h1>Pipeline<\/h1>/);
  child.kill('SIGTERM');
  const [code] = await once(child, 'close');
  t.is(code, 0, stderr);
});
