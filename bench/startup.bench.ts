import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBenchDatabase } from './database.ts';
import { round } from './load.bench.ts';

/**
 * How long a user waits for the command to start: each case run RUNS times one after the
 * other, as a separate process, compiled as users run it (dist/bin/fhir-etl.js; `npm run
 * bench` builds it first). The floor is `node -e 0`, the least any Node program takes here.
 * `status` reads a fresh, migrated database on the running embedded server (or DATABASE_URL).
 * `load` lands a new one-line file there each run: what every load and run pays before its
 * data (the command, the 19 shipped views validated and compiled, the warehouse's checks).
 */
export interface StartupCase {
  name: string;
  runs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Median over the floor's median. */
  vsFloor: number;
  /** What the issue asks of it; '' where it names nothing (the load case, for reference). */
  target: string;
  met: boolean;
}

const RUNS = 20;
const BIN = fileURLToPath(new URL('../dist/bin/fhir-etl.js', import.meta.url));
/** The issue's targets: --help and --version within 0.3 s and 2.5x the floor; status within 1 s. */
const HELP_TARGET = { ms: 300, vsFloor: 2.5 };
const STATUS_TARGET_MS = 1000;

export async function benchStartup(runs = RUNS): Promise<StartupCase[]> {
  const floor = await timeRuns(['-e', '0'], runs);
  const floorMedian = median(floor);
  const cases: StartupCase[] = [summary('node -e 0 (floor)', floor, floorMedian, 'floor', true)];
  for (const flag of ['--help', '--version']) {
    const times = await timeRuns([BIN, flag], runs);
    const m = median(times);
    const met = m <= HELP_TARGET.ms && m / floorMedian <= HELP_TARGET.vsFloor;
    const target = `<= ${HELP_TARGET.ms / 1000} s and ${HELP_TARGET.vsFloor}x floor`;
    cases.push(summary(`fhir-etl ${flag}`, times, floorMedian, target, met));
  }
  const database = await createBenchDatabase('startup');
  const files = await mkdtemp(join(tmpdir(), 'fhir-etl-startup-'));
  try {
    const env = { DATABASE_URL: database.url };
    const times = await timeRuns([BIN, 'status'], runs, env);
    const met = median(times) <= STATUS_TARGET_MS;
    cases.push(summary('fhir-etl status', times, floorMedian, `<= ${STATUS_TARGET_MS / 1000} s`, met));
    // The first load makes the view tables; the timed ones find them, as every later load does.
    await timeRun([BIN, 'load', '--source', 'startup', await onePatient(files, 0)], env);
    const loads: number[] = [];
    for (let i = 1; i <= runs; i++) {
      loads.push(await timeRun([BIN, 'load', '--source', 'startup', await onePatient(files, i)], env));
    }
    cases.push(summary('fhir-etl load (one line)', loads, floorMedian, '', true));
  } finally {
    await rm(files, { recursive: true, force: true });
    await database.drop();
  }
  return cases;
}

/** A file of one Patient, new at each call (a file already loaded would be skipped). */
async function onePatient(dir: string, n: number): Promise<string> {
  const file = join(dir, `patient-${n}.ndjson`);
  await writeFile(file, `${JSON.stringify({ resourceType: 'Patient', id: `startup-${n}` })}\n`);
  return file;
}

function summary(name: string, times: number[], floorMedian: number, target: string, met: boolean) {
  const m = median(times);
  return {
    name,
    runs: times.length,
    medianMs: round(m, 0),
    minMs: round(Math.min(...times), 0),
    maxMs: round(Math.max(...times), 0),
    vsFloor: round(m / floorMedian, 2),
    target,
    met,
  };
}

async function timeRuns(args: string[], runs: number, env: NodeJS.ProcessEnv = {}): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await timeRun(args, env));
  return times;
}

/** Wall time from spawn to exit, in ms; a run that fails is an error, not a number. */
function timeRun(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code === 0) resolve(ms);
      else reject(new Error(`node ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

if (process.argv[1] !== undefined && import.meta.url === `file://${process.argv[1]}`) {
  for (const c of await benchStartup()) process.stdout.write(`${JSON.stringify(c)}\n`);
}
