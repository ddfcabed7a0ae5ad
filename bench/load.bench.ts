import { loadavg } from 'node:os';
import { type ConnectionPool, sql } from '@databases/pg';
import { type CeilingResult, type CopyJob, createLikeTables, timeCopies } from './ceiling.ts';
import { checkpoint, createBenchDatabase } from './database.ts';
import { BENCH_SOURCE, type Dataset } from './dataset.ts';
import { runLoadChild } from './run-child.ts';

/** One load measured against its psql \copy ceiling. */
export interface LoadBenchResult {
  name: string;
  server: string;
  concurrency: number;
  resources: number;
  inputBytes: number;
  wallMs: number;
  resourcesPerSecond: number;
  mbPerSecond: number;
  peakRssBytes: number;
  startRssBytes: number;
  viewRows: number;
  ceiling: CeilingResult & { resourcesPerSecond: number };
  /** Our resources/s over the ceiling's (= ceiling wall time / ours). */
  ratio: number;
  target: number;
  met: boolean;
  loadavgBefore: number[];
}

export const RAW_TARGET = 0.6;

/**
 * Raw landing: loadPaths over the dataset (in a child process, into a fresh database), then
 * psql \copy of the very same rows (the COPY text made with the dataset) into empty copies of
 * the fhir_raw tables, same files in the same order, same concurrency.
 */
export async function benchRawLoad(dataset: Dataset, concurrency = 2): Promise<LoadBenchResult> {
  const database = await createBenchDatabase('raw');
  try {
    const loadavgBefore = loadavg();
    await checkpoint(database.warehouse.db);
    const load = await runLoadChild({
      url: database.url,
      paths: [dataset.ndjsonDir],
      source: BENCH_SOURCE,
      concurrency,
      views: false,
    });
    await verifyRawCounts(database.warehouse.db, dataset);
    const jobs: CopyJob[] = dataset.copyFiles.map((file) => ({
      table: `fhir_raw_ceiling.${file.table}`,
      like: `fhir_raw.${file.table}`,
      path: file.path,
      rows: file.rows,
    }));
    await createLikeTables(database.warehouse.db, jobs);
    await checkpoint(database.warehouse.db);
    const ceiling = await timeCopies(database.url, jobs, concurrency);
    return summarize(
      'raw landing',
      database.server,
      concurrency,
      dataset,
      load,
      ceiling,
      RAW_TARGET,
      loadavgBefore,
    );
  } finally {
    await database.drop();
  }
}

/** The loaded tables must hold exactly the rows the ceiling copies, or the comparison is moot. */
export async function verifyRawCounts(db: ConnectionPool, dataset: Dataset): Promise<void> {
  for (const file of dataset.copyFiles) {
    const [row] = await db.query(sql`SELECT count(*)::int AS n FROM ${sql.ident('fhir_raw', file.table)}`);
    if (row.n !== file.rows) {
      throw new Error(
        `fhir_raw.${file.table} holds ${row.n} rows after the load, the ceiling copies ${file.rows}`,
      );
    }
  }
}

export function summarize(
  name: string,
  server: string,
  concurrency: number,
  dataset: Dataset,
  load: Awaited<ReturnType<typeof runLoadChild>>,
  ceiling: CeilingResult,
  target: number,
  loadavgBefore: number[],
): LoadBenchResult {
  if (load.resources !== dataset.resources) {
    throw new Error(`loaded ${load.resources} resources, expected ${dataset.resources}`);
  }
  const seconds = load.wallMs / 1000;
  const ratio = ceiling.wallMs / load.wallMs;
  return {
    name,
    server,
    concurrency,
    resources: load.resources,
    inputBytes: dataset.bytes,
    wallMs: Math.round(load.wallMs),
    resourcesPerSecond: Math.round(load.resources / seconds),
    mbPerSecond: round(dataset.bytes / 1e6 / seconds, 1),
    peakRssBytes: load.peakRssBytes,
    startRssBytes: load.startRssBytes,
    viewRows: load.viewRows,
    ceiling: { ...ceiling, resourcesPerSecond: Math.round(load.resources / (ceiling.wallMs / 1000)) },
    ratio: round(ratio, 2),
    target,
    met: ratio >= target,
    loadavgBefore: loadavgBefore.map((n) => round(n, 2)),
  };
}

export function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
