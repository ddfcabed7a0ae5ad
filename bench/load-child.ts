import { readFileSync } from 'node:fs';
import { openWarehouse } from '../loaders/index.ts';
import { loadPaths } from '../pipeline/load.ts';
import { configuredViews } from '../pipeline/views.ts';

/**
 * One load, alone in its own process, so its peak RSS belongs to the load:
 * `node --import tsx bench/load-child.ts '<json LoadChildRequest>'`. Prints one JSON line
 * (LoadChildResult) on stdout.
 */
export interface LoadChildRequest {
  url: string;
  paths: string[];
  source: string;
  concurrency: number;
  /** Also fill the shipped views (schemas/views) in schema `fhir`. */
  views: boolean;
}

export interface LoadChildResult {
  status: string;
  wallMs: number;
  resources: number;
  bytes: number;
  files: number;
  rejects: number;
  viewRows: number;
  viewCounts: Record<string, number>;
  failures: string[];
  /** Peak RSS (VmHWM) of this process, and RSS before the load started (node + tsx + views). */
  peakRssBytes: number;
  startRssBytes: number;
  maxRssBytes: number;
}

const request = JSON.parse(process.argv[2] ?? '{}') as LoadChildRequest;
const views = request.views ? await configuredViews() : [];
const warehouse = await openWarehouse({ databaseUrl: request.url, migrate: false });
const startRssBytes = process.memoryUsage.rss();
const started = performance.now();
try {
  const summary = await loadPaths(warehouse.db, {
    paths: request.paths,
    source: request.source,
    concurrency: request.concurrency,
    maxLineBytes: 64 * 1024 * 1024,
    views,
  });
  const wallMs = performance.now() - started;
  const viewCounts = summary.viewCounts;
  const result: LoadChildResult = {
    status: summary.status,
    wallMs,
    resources: summary.resources,
    bytes: summary.bytes,
    files: summary.files,
    rejects: summary.rejects,
    viewRows: Object.values(viewCounts).reduce((sum, n) => sum + n, 0),
    viewCounts,
    failures: summary.outcomes.flatMap((o) => (o.error ? [`${o.path}: ${o.error}`] : [])),
    peakRssBytes: vmHwm(),
    startRssBytes,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await warehouse.close();
}

/** The high-water mark of resident memory, from /proc (Linux); maxRSS elsewhere. */
function vmHwm(): number {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}
