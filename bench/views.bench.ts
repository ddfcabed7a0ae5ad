import { mkdir, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import { type CopyJob, createLikeTables, psql, timeCopies } from './ceiling.ts';
import { checkpoint, createBenchDatabase } from './database.ts';
import { BENCH_SOURCE, type Dataset, dataRoot } from './dataset.ts';
import { type LoadBenchResult, summarize, verifyRawCounts } from './load.bench.ts';
import { runLoadChild } from './run-child.ts';

export const VIEWS_TARGET = 0.5;

/**
 * End to end: loadPaths into fhir_raw and every shipped view (schema `fhir`, same
 * transaction per file), against psql \copy of the same final rows: the raw COPY text plus
 * each view table's rows as exported after the load, into empty identical tables.
 */
export async function benchViewsLoad(dataset: Dataset, concurrency = 2): Promise<LoadBenchResult> {
  const database = await createBenchDatabase('views');
  const db = database.warehouse.db;
  const exportDir = join(dataRoot, 'views-copy');
  try {
    const loadavgBefore = loadavg();
    await checkpoint(db);
    const load = await runLoadChild({
      url: database.url,
      paths: [dataset.ndjsonDir],
      source: BENCH_SOURCE,
      concurrency,
      views: true,
    });
    await verifyRawCounts(db, dataset);
    const views: Array<{ table_name: string }> = await db.query(sql`
      SELECT table_name FROM information_schema.tables
      WHERE table_schema = 'fhir' AND table_type = 'BASE TABLE' ORDER BY table_name`);
    await rm(exportDir, { recursive: true, force: true });
    await mkdir(exportDir, { recursive: true });
    const viewJobs: CopyJob[] = [];
    for (const { table_name: view } of views) {
      const path = join(exportDir, `${view}.copy`);
      await psql(database.url, `\\copy (SELECT * FROM fhir.${view}) TO '${path}'`);
      const [row] = await db.query(sql`SELECT count(*)::int AS n FROM ${sql.ident('fhir', view)}`);
      viewJobs.push({ table: `fhir_ceiling.${view}`, like: `fhir.${view}`, path, rows: row.n });
    }
    const rawJobs: CopyJob[] = dataset.copyFiles.map((file) => ({
      table: `fhir_raw_ceiling.${file.table}`,
      like: `fhir_raw.${file.table}`,
      path: file.path,
      rows: file.rows,
    }));
    await createLikeTables(db, [...rawJobs, ...viewJobs]);
    await checkpoint(db);
    const ceiling = await timeCopies(database.url, [...rawJobs, ...viewJobs], concurrency);
    // The ceiling's rows/s are counted in resources, like ours: the view rows ride along.
    const result = summarize(
      'raw + shipped views',
      database.server,
      concurrency,
      dataset,
      load,
      { ...ceiling, rows: dataset.resources },
      VIEWS_TARGET,
      loadavgBefore,
    );
    return { ...result, viewRows: viewJobs.reduce((sum, job) => sum + job.rows, 0) };
  } finally {
    await database.drop();
    if (process.env.BENCH_KEEP !== '1') await rm(exportDir, { recursive: true, force: true });
  }
}
