import { loadavg } from 'node:os';
import { checkpoint, createBenchDatabase } from './database.ts';
import { BENCH_SOURCE, type BigFile } from './dataset.ts';
import { round } from './load.bench.ts';
import { runLoadChild } from './run-child.ts';

export interface MemoryBenchResult {
  server: string;
  resources: number;
  inputBytes: number;
  wallMs: number;
  resourcesPerSecond: number;
  mbPerSecond: number;
  peakRssBytes: number;
  startRssBytes: number;
  targetBytes: number;
  met: boolean;
  loadavgBefore: number[];
}

export const RSS_TARGET_BYTES = 300 * 2 ** 20;

/** One ~1 GB NDJSON file loaded (raw only) in a child process: its peak RSS must stay flat. */
export async function benchBigFile(big: BigFile): Promise<MemoryBenchResult> {
  const database = await createBenchDatabase('big');
  try {
    const loadavgBefore = loadavg();
    await checkpoint(database.warehouse.db);
    const load = await runLoadChild({
      url: database.url,
      paths: [big.path],
      source: BENCH_SOURCE,
      concurrency: 1,
      views: false,
    });
    const seconds = load.wallMs / 1000;
    return {
      server: database.server,
      resources: load.resources,
      inputBytes: big.bytes,
      wallMs: Math.round(load.wallMs),
      resourcesPerSecond: Math.round(load.resources / seconds),
      mbPerSecond: round(big.bytes / 1e6 / seconds, 1),
      peakRssBytes: load.peakRssBytes,
      startRssBytes: load.startRssBytes,
      targetBytes: RSS_TARGET_BYTES,
      met: load.peakRssBytes <= RSS_TARGET_BYTES,
      loadavgBefore: loadavgBefore.map((n) => round(n, 2)),
    };
  } finally {
    await database.drop();
  }
}
