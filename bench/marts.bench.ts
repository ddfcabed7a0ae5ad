import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import { MARTS } from '../loaders/index.ts';
import { loadPaths } from '../pipeline/load.ts';
import { configuredViews } from '../pipeline/views.ts';
import { writeNdjson } from '../sandbox/index.ts';
import { createBenchDatabase } from './database.ts';
import { round } from './load.bench.ts';

export interface MartBenchResult {
  members: number;
  sources: number;
  marts: Array<{ mart: string; rows: number; medianMs: number }>;
}

/**
 * How long a BI tool waits for each analytics mart, read whole (`SELECT count(*)`, the plan
 * computes every row): the sandbox's members loaded by two sources, statistics gathered, the
 * median of three reads.
 */
export async function benchMarts(members: number): Promise<MartBenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'fhir-etl-bench-marts-'));
  const bench = await createBenchDatabase('marts');
  try {
    const db = bench.warehouse.db;
    await writeNdjson(dir, { patients: members, seed: 1 });
    const views = await configuredViews();
    const sources = ['bulk', 'payer'];
    for (const source of sources)
      await loadPaths(db, { paths: [dir], source, concurrency: 2, maxLineBytes: 1 << 26, views });
    await db.query(sql`ANALYZE`);
    const marts: MartBenchResult['marts'] = [];
    for (const mart of [...MARTS.map((m) => m.name), 'freshness']) {
      const times: number[] = [];
      let rows = 0;
      for (let i = 0; i < 3; i++) {
        const started = process.hrtime.bigint();
        const [row] = await db.query(sql`SELECT count(*)::int AS n FROM ${sql.ident('analytics', mart)}`);
        times.push(Number(process.hrtime.bigint() - started) / 1e6);
        rows = row.n;
      }
      marts.push({ mart, rows, medianMs: round(times.sort((a, b) => a - b)[1] as number, 0) });
    }
    return { members, sources: sources.length, marts };
  } finally {
    await bench.drop();
    await rm(dir, { recursive: true, force: true });
  }
}
