import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pgModule, { sql } from '@databases/pg';
import test from 'ava';
import { runCli } from './helpers/cli.ts';
import { type PrivatePostgres, startPrivatePostgres } from './helpers/private-postgres.ts';

const run = promisify(execFile);

/**
 * A full disk (issue 17): the warehouse's tables live on a 4 MiB tmpfs (a tablespace of a
 * PostgreSQL of the test's own), which the load fills. The load stops starting files and
 * prints one summary naming the server, PostgreSQL's words and what committed, in text and
 * in --json, instead of a line per file.
 */
let pg: PrivatePostgres;
const mount = mkdtempSync(join(tmpdir(), 'fhir-etl-small-disk-'));
const dir = mkdtempSync(join(tmpdir(), 'fhir-etl-disk-full-'));
let url = '';
const FILES = 40;

test.before(async () => {
  pg = await startPrivatePostgres();
  await run('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mount]);
  const { stdout } = await run('id', ['-u', 'postgres']);
  const space = join(mount, 'space');
  mkdirSync(space);
  chownSync(space, Number(stdout.trim()), Number(stdout.trim()));
  const admin = pgModule.default({
    connectionString: pg.url,
    bigIntMode: 'number',
    onError: () => undefined,
  });
  try {
    await admin.query(sql`CREATE TABLESPACE small LOCATION ${sql.__dangerous__rawValue(`'${space}'`)}`);
    await admin.query(sql`CREATE DATABASE disk_full`);
    // Tables created from now on (fhir_raw.patient, the view tables) go to the small disk.
    await admin.query(sql`ALTER DATABASE disk_full SET default_tablespace = small`);
  } finally {
    await admin.dispose();
  }
  url = pg.url.replace(/\/postgres$/, '/disk_full');
  // 40 files of 150 KB of resources that do not compress: about 6 MB for a 4 MiB disk.
  for (let i = 0; i < FILES; i++) {
    const lines = Array.from({ length: 30 }, (_, j) =>
      JSON.stringify({
        resourceType: 'Patient',
        id: `p-${i}-${j}`,
        text: { status: 'generated', div: randomBytes(2500).toString('hex') },
      }),
    );
    writeFileSync(join(dir, `patients-${String(i).padStart(2, '0')}.ndjson`), `${lines.join('\n')}\n`);
  }
});

test.after.always(async () => {
  await pg?.destroy();
  await run('umount', [mount]).catch(() => undefined);
});

test.serial(
  'a full disk is one summary naming the server and what committed, not a line per file',
  async (t) => {
    const result = await runCli(['load', '--no-views', '--source', 'full', dir], { databaseUrl: url });
    t.is(result.code, 1, result.stderr);
    const failed = result.stdout.split('\n').filter((line) => line.startsWith('FAILED'));
    t.is(failed.length, 1, result.stdout);
    const [line = ''] = failed;
    t.regex(
      line,
      /^FAILED: the warehouse postgres:\/\/postgres@127\.0\.0\.1:\d+\/disk_full ran out of disk space \(/,
    );
    t.regex(line, /No space left on device/);
    const [, committed, total, , notStarted] =
      /(\d+) of (\d+) files committed, (\d+) rolled back, (\d+) not started; free space on that disk/.exec(
        line,
      ) ?? [];
    t.is(Number(total), FILES);
    t.true(Number(committed) > 0, 'some files fitted');
    t.true(Number(notStarted) > 0, 'no file was started once the disk was full');
    t.notRegex(result.stderr + result.stdout, /unexpected error|\n\s+at /);

    const db = pgModule.default({ connectionString: url, bigIntMode: 'number', onError: () => undefined });
    try {
      const [row] = await db.query(sql`SELECT status, error FROM fhir_etl.runs WHERE source = 'full'`);
      t.is(row.status, 'failed');
      t.regex(row.error, /ran out of disk space/);
      const [{ n }] = await db.query(
        sql`SELECT count(*)::int AS n FROM fhir_raw.patient WHERE source = 'full'`,
      );
      t.is(n, Number(committed) * 30, 'exactly the committed files landed');
    } finally {
      await db.dispose();
    }
  },
);

test.serial('--json says it too: the load.done line carries the summary', async (t) => {
  const result = await runCli(['--json', 'load', '--no-views', '--source', 'full', dir], {
    databaseUrl: url,
  });
  t.is(result.code, 1, result.stderr);
  const lines = result.stderr
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event?: string; msg?: string; failures?: unknown[] });
  const done = lines.find((l) => l.event === 'load.done');
  t.regex(
    done?.msg ?? '',
    /^load failed: the warehouse .* ran out of disk space \(.*No space left on device.*\): 0 of 40 files committed \(\d+ more were loaded before\)/,
  );
});
