import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { type ConnectionPool, sql } from '@databases/pg';
import { CLI_ARGS } from './cli.ts';

/** A JSON log line of the scheduler. */
export type LogLine = Record<string, unknown> & { event?: string; msg?: string };

/** A `fhir-etl schedule` child process, its JSON log lines as they arrive. */
export interface SchedulerProcess {
  child: ChildProcess;
  lines: LogLine[];
  /** Resolves with the first line (already seen or still to come) that matches. */
  waitForLine(matches: (line: LogLine) => boolean): Promise<LogLine>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Starts `fhir-etl --json --config FILE schedule ARGS...` as an operator would. */
export function startScheduler(
  configFile: string,
  args: string[],
  options: { databaseUrl: string },
): SchedulerProcess {
  const child = spawn(
    process.execPath,
    [...CLI_ARGS, '--json', '--config', configFile, 'schedule', ...args],
    {
      env: { ...process.env, DATABASE_URL: options.databaseUrl },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: LogLine[] = [];
  const waiters: Array<{ matches: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = [];
  let stderr = '';
  let partial = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    const text = partial + chunk;
    const complete = text.split('\n');
    partial = complete.pop() ?? '';
    for (const raw of complete) {
      const line = parseLine(raw);
      if (!line) continue;
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (!waiter.matches(line)) continue;
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  child.stdout?.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  return {
    child,
    lines,
    exited,
    waitForLine(matches) {
      const seen = lines.find(matches);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ matches, resolve });
        void exited.then((end) =>
          reject(
            new Error(`scheduler exited (${end.code ?? end.signal}) first:\n${end.stderr.slice(-4000)}`),
          ),
        );
      });
    },
  };
}

function parseLine(raw: string): LogLine | undefined {
  try {
    return JSON.parse(raw) as LogLine;
  } catch {
    return undefined;
  }
}

/** A fresh temporary folder for a test's config and landing folders. */
export function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), 'fhir-etl-schedule-'));
}

/** Writes the config file (JSON, which the YAML loader reads) into `dir`; returns its path. */
export function writeConfig(
  dir: string,
  sources: Array<Record<string, unknown>>,
  scheduler: Record<string, unknown> = {},
): string {
  const file = join(dir, 'fhir-etl.config.json');
  writeFileSync(file, JSON.stringify({ sources, scheduler }, null, 2));
  return file;
}

/**
 * A landing folder of `files` NDJSON files of `patients` Patients each. The ids name their
 * file (f3-p17 is in patients-03.ndjson), so what a file committed can be counted in the tables.
 */
export function writeLanding(dir: string, files: number, patients: number, name = 'landing'): string {
  const landing = join(dir, name);
  mkdirSync(landing, { recursive: true });
  for (let f = 0; f < files; f++) {
    const lines = Array.from({ length: patients }, (_, p) =>
      JSON.stringify({
        resourceType: 'Patient',
        id: `f${f}-p${p}`,
        gender: p % 2 === 0 ? 'female' : 'male',
        birthDate: '1970-01-01',
      }),
    );
    writeFileSync(join(landing, `patients-${String(f).padStart(2, '0')}.ndjson`), `${lines.join('\n')}\n`);
  }
  return landing;
}

/** The number of the landing file a committed fhir_etl.files row is (patients-03.ndjson -> 3). */
export function fileNumber(path: string): number {
  return Number(/patients-(\d+)\.ndjson$/.exec(path)?.[1]);
}

/**
 * Holds an EXCLUSIVE lock on fhir_etl.files until released: loads still read it and write
 * their rows, but every file blocks at its checkpoint insert, inside its open transaction.
 * A test so catches a run in the middle of its files without racing it.
 */
export async function holdCheckpoints(db: ConnectionPool): Promise<{ release(): Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let locked!: () => void;
  const lockTaken = new Promise<void>((resolve) => {
    locked = resolve;
  });
  const transaction = db.tx(async (tx) => {
    await tx.query(sql`LOCK TABLE fhir_etl.files IN EXCLUSIVE MODE`);
    locked();
    await released;
  });
  await Promise.race([lockTaken, transaction]);
  return {
    async release() {
      release();
      await transaction;
    },
  };
}

/**
 * Loads (sessions) waiting at their checkpoint insert behind holdCheckpoints. pg_locks shows
 * the whole server, and the test databases, clones of one template, give fhir_etl.files the
 * same oid: only this database's waits count.
 */
export async function filesWaitingToCommit(db: ConnectionPool): Promise<number> {
  const [row] = await db.query(sql`
    SELECT count(*)::int AS waiting FROM pg_locks
    WHERE locktype = 'relation' AND relation = 'fhir_etl.files'::regclass AND NOT granted
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
  return row.waiting;
}

/**
 * Every committed file of a landing written by writeLanding has all its rows in fhir_raw and
 * the view table, and a file that is not committed has none: nothing is half loaded. Returns
 * the numbers of the committed files.
 */
export async function assertNoHalfFile(
  t: ExecutionContext,
  db: ConnectionPool,
  source: string,
  landing: { files: number; patients: number },
): Promise<number[]> {
  const files: Array<{ path: string; resources: number }> = await db.query(
    sql`SELECT path, resources FROM fhir_etl.files WHERE source = ${source}`,
  );
  const raw: Array<{ file: number; rows: number }> = await db.query(sql`
    SELECT substring(id FROM '^f([0-9]+)-')::int AS file, count(*)::int AS rows
    FROM fhir_raw.patient WHERE source = ${source} GROUP BY 1`);
  const view: Array<{ file: number; rows: number }> = await db.query(sql`
    SELECT substring(_resource_id FROM '^f([0-9]+)-')::int AS file, count(*)::int AS rows
    FROM fhir.patient WHERE _source = ${source} GROUP BY 1`);
  const committed = files.map((f) => fileNumber(f.path)).sort((a, b) => a - b);
  for (let file = 0; file < landing.files; file++) {
    const expected = committed.includes(file) ? landing.patients : 0;
    t.is(raw.find((r) => r.file === file)?.rows ?? 0, expected, `fhir_raw rows of file ${file}`);
    t.is(view.find((r) => r.file === file)?.rows ?? 0, expected, `fhir.patient rows of file ${file}`);
  }
  t.true(files.every((f) => f.resources === landing.patients));
  return committed;
}
