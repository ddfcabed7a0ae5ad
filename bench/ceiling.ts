import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { type ConnectionPool, sql } from '@databases/pg';

/**
 * The ceiling: psql's `\copy` of the very same rows, one psql (one transaction) per file,
 * into freshly created tables identical to ours (LIKE ... INCLUDING ALL: same columns,
 * defaults, primary key and indexes), with the same number of files at once as the load.
 */
export interface CopyJob {
  /** schema.table, created empty from `like` before the timing starts. */
  table: string;
  like: string;
  path: string;
  rows: number;
}

export interface CeilingResult {
  wallMs: number;
  /** Sum of the per-file times: what one connection would take. */
  serialMs: number;
  rows: number;
  bytes: number;
  files: Array<{ table: string; ms: number; rows: number; bytes: number }>;
}

export async function createLikeTables(db: ConnectionPool, jobs: CopyJob[]): Promise<void> {
  for (const job of jobs) {
    const [schema, table] = splitName(job.table);
    const [likeSchema, likeTable] = splitName(job.like);
    await db.query(sql`CREATE SCHEMA IF NOT EXISTS ${sql.ident(schema)}`);
    await db.query(sql`DROP TABLE IF EXISTS ${sql.ident(schema, table)}`);
    await db.query(
      sql`CREATE TABLE ${sql.ident(schema, table)} (LIKE ${sql.ident(likeSchema, likeTable)} INCLUDING ALL)`,
    );
  }
}

/** Runs the copies, `concurrency` at a time in the given order, and times them. */
export async function timeCopies(url: string, jobs: CopyJob[], concurrency: number): Promise<CeilingResult> {
  const files: CeilingResult['files'] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++] as CopyJob;
      const bytes = (await stat(job.path)).size;
      const t0 = performance.now();
      await psql(url, `\\copy ${job.table} FROM '${job.path}'`);
      files.push({ table: job.table, ms: performance.now() - t0, rows: job.rows, bytes });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  const wallMs = performance.now() - started;
  return {
    wallMs,
    serialMs: files.reduce((sum, f) => sum + f.ms, 0),
    rows: files.reduce((sum, f) => sum + f.rows, 0),
    bytes: files.reduce((sum, f) => sum + f.bytes, 0),
    files,
  };
}

/** Runs one psql command; the password, if any, goes through PGPASSWORD rather than argv. */
export function psql(url: string, command: string): Promise<string> {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = '';
  const env = { ...process.env, ...(password ? { PGPASSWORD: password } : {}) };
  return new Promise((resolve, reject) => {
    const child = spawn(
      'psql',
      ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', parsed.toString(), '-c', command],
      {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`psql ${command} failed (${code}): ${err.trim()}`)),
    );
  });
}

function splitName(name: string): [string, string] {
  const [schema, table] = name.split('.');
  if (!schema || !table) throw new Error(`expected schema.table, got ${name}`);
  return [schema, table];
}
