import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { sql } from '@databases/pg';
import test from 'ava';
import { openWarehouse, type Warehouse } from '../loaders/index.ts';
import { prepareLoad } from '../pipeline/ingest.ts';
import type { InputFile } from '../pipeline/inputs.ts';
import { loadInputs } from '../pipeline/load.ts';
import type { ProgressReporter } from '../pipeline/progress.ts';
import { recordRun, WarehouseUnreachableError } from '../pipeline/run-recorder.ts';
import { runCli } from './helpers/cli.ts';
import { type PrivatePostgres, startPrivatePostgres } from './helpers/private-postgres.ts';

/**
 * The warehouse going away in the middle of a load (issue 17, item 2), on a PostgreSQL of the
 * test's own that the test stops: files stop being started at once, the message names the
 * server once, and the run is closed as failed with that reason, by this run when the server
 * comes back in time, else by the next run from the error kept under the home folder.
 */
let pg: PrivatePostgres;
test.before(async () => {
  pg = await startPrivatePostgres();
});
test.after.always(async () => {
  await pg?.destroy();
});

const patient = (id: string) => `${JSON.stringify({ resourceType: 'Patient', id })}\n`;
// The held file's type differs: a file holds its type's direct-load lock until it commits.
const observation = (id: string) => `${JSON.stringify({ resourceType: 'Observation', id })}\n`;

/** Small files, and one first (the largest by its claimed size) whose lines the test feeds. */
function inputs(prefix: string, count: number): { held: PassThrough; files: InputFile[] } {
  const held = new PassThrough();
  held.write(observation(`${prefix}-held-1`));
  const files: InputFile[] = [
    { path: `${prefix}-held.ndjson`, fileKey: `${prefix}-held`, bytes: 1e9, open: () => held },
    ...Array.from({ length: count }, (_, i) => {
      const text = Array.from({ length: 50 }, (_, j) => patient(`${prefix}-${i}-${j}`)).join('');
      return {
        path: `${prefix}-${i}.ndjson`,
        fileKey: `${prefix}-${i}`,
        bytes: text.length,
        open: () => PassThrough.from([Buffer.from(text)]) as unknown as PassThrough,
      };
    }),
  ];
  return { held, files };
}

/** Stops the server once `after` files have committed, then lets the held file go on (and fail). */
function stopAfter(after: number, held: PassThrough): { progress: ProgressReporter; stopped: Promise<void> } {
  let done = 0;
  let stopped: Promise<void> | undefined;
  let resolveStopped: (value: Promise<void>) => void = () => undefined;
  const whenStopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  const progress: ProgressReporter = {
    start() {},
    fileStarted() {},
    bytes() {},
    phase() {},
    stop() {},
    fileDone() {
      if (++done !== after || stopped) return;
      stopped = pg.stop().then(() => {
        held.end(observation('after-the-stop'));
      });
      resolveStopped(stopped);
    },
  };
  return { progress, stopped: whenStopped };
}

async function open(home: string): Promise<Warehouse> {
  return openWarehouse({ databaseUrl: pg.url, home, poolSize: 6 });
}

test.serial(
  'the warehouse stopping mid-load stops the load; back within the budget, the run is closed as failed with that reason',
  async (t) => {
    const home = mkdtempSync(join(tmpdir(), 'fhir-etl-home-'));
    const warehouse = await open(home);
    try {
      const ctx = await prepareLoad(warehouse.db, { views: [] });
      const { held, files } = inputs('a', 30);
      const { progress, stopped } = stopAfter(3, held);
      let waited = '';
      const result = await recordRun(
        warehouse.db,
        { command: 'load', source: 'gone' },
        async (run) => {
          await loadInputs(ctx, run, files, { source: 'gone', concurrency: 2, progress });
        },
        {
          onWarehouseWait: (message) => {
            waited = message;
            // The run's end waits: bring the server back.
            void stopped.then(() => pg.start());
          },
        },
      );
      t.regex(waited, /the warehouse postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres does not answer/);
      t.is(result.status, 'failed');
      const error = result.error ?? '';
      t.regex(error, /^the warehouse postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres stopped answering \(/);
      const [, committed, total, rolledBack, notStarted] =
        /(\d+) of (\d+) files committed, (\d+) rolled back, (\d+) not started; run the same command again once it is back/.exec(
          error,
        ) ?? [];
      t.is(Number(total), 31);
      t.true(Number(committed) >= 3);
      t.true(Number(rolledBack) >= 1, 'the held file rolled back');
      t.true(Number(notStarted) > 0, 'files stopped being started');
      t.is(Number(committed) + Number(rolledBack) + Number(notStarted), 31);
      t.false(error.includes('\n'), 'one line, not one per file');
      const [row] = await warehouse.db.query(
        sql`SELECT status, error, files FROM fhir_etl.runs WHERE id = ${result.runId}`,
      );
      t.is(row.status, 'failed');
      t.is(row.error, error);
      t.is(row.files, Number(committed));
      const [{ n }] = await warehouse.db.query(
        sql`SELECT count(*)::int AS n FROM fhir_raw.patient WHERE source = 'gone'`,
      );
      t.is(n, Number(committed) * 50, 'exactly the committed files landed');
    } finally {
      await warehouse.close();
    }
  },
);

test.serial(
  'not back within the budget: the error is kept under the home folder, and the next run records it',
  async (t) => {
    const home = mkdtempSync(join(tmpdir(), 'fhir-etl-home-'));
    let warehouse = await open(home);
    let runId = 0;
    let thrown: unknown;
    try {
      const ctx = await prepareLoad(warehouse.db, { views: [] });
      const { held, files } = inputs('b', 10);
      const { progress, stopped } = stopAfter(2, held);
      thrown = await recordRun(
        warehouse.db,
        { command: 'load', source: 'gone-for-good' },
        async (run) => {
          runId = run.id;
          await loadInputs(ctx, run, files, { source: 'gone-for-good', concurrency: 2, progress });
        },
        { warehouseRetryMs: 0 },
      ).catch((error: unknown) => error);
      await stopped;
    } finally {
      await warehouse.close();
    }
    t.true(thrown instanceof WarehouseUnreachableError);
    const message = (thrown as Error).message;
    t.regex(message, /stopped answering/);
    t.regex(
      message,
      new RegExp(
        `run ${runId} could not be recorded as failed: the warehouse postgres://postgres@127\\.0\\.0\\.1:\\d+/postgres did not answer`,
      ),
    );
    t.regex(message, /its error is kept under the home folder, and the next run records it/);
    t.is(readdirSync(join(home, 'unrecorded-runs')).length, 1);

    await pg.start();
    warehouse = await open(home);
    try {
      const [before] = await warehouse.db.query(sql`SELECT status FROM fhir_etl.runs WHERE id = ${runId}`);
      t.is(before.status, 'running', 'the warehouse never heard of the run ending');
      const next = await recordRun(warehouse.db, { command: 'load', source: 'next' }, async () => undefined);
      t.is(next.status, 'succeeded');
      const [after] = await warehouse.db.query(
        sql`SELECT status, error FROM fhir_etl.runs WHERE id = ${runId}`,
      );
      t.is(after.status, 'failed');
      t.regex(
        after.error,
        /^the warehouse postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres stopped answering \(/,
      );
      t.regex(after.error, /files committed, \d+ rolled back, \d+ not started/);
      t.false(
        existsSync(join(home, 'unrecorded-runs', readdirSync(join(home, 'unrecorded-runs'))[0] ?? 'none')),
      );
    } finally {
      await warehouse.close();
    }
  },
);

test.serial(
  '`fhir-etl load` whose warehouse stops: one message naming the server, no stack trace, exit 1',
  async (t) => {
    const home = mkdtempSync(join(tmpdir(), 'fhir-etl-home-'));
    const { spawn } = await import('node:child_process');
    const { CLI_ARGS } = await import('./helpers/cli.ts');
    const child = spawn(process.execPath, [...CLI_ARGS, 'load', '--source', 'cli-gone', '-'], {
      env: { ...process.env, DATABASE_URL: pg.url, FHIR_ETL_HOME: home },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    const waiting = new Promise<void>((resolve) => {
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
        if (/waiting up to 60 s/.test(stderr)) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stdin.write(patient('cli-1'));
    // The load has begun its file once the run row exists.
    const probe = await openWarehouse({ databaseUrl: pg.url, home });
    try {
      for (;;) {
        const rows = await probe.db.query(
          sql`SELECT 1 FROM fhir_etl.runs WHERE source = 'cli-gone' AND status = 'running'`,
        );
        if (rows.length > 0) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      await probe.close();
    }
    await pg.stop();
    child.stdin.end(patient('cli-2'));
    await waiting;
    await pg.start();
    const code = await exited;
    t.is(code, 1, stderr);
    t.regex(
      stdout,
      /FAILED: the warehouse postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres stopped answering \(.*\): 0 of 1 files committed, 1 rolled back, 0 not started/,
    );
    t.notRegex(stderr + stdout, /unexpected error|\n\s+at /);
    const again = await runCli(['status', '--json'], {
      databaseUrl: pg.url,
      env: { ...process.env, FHIR_ETL_HOME: home },
    });
    const run = JSON.parse(again.stdout).runs.find((r: { source: string }) => r.source === 'cli-gone');
    t.is(run?.status, 'failed');
  },
);
