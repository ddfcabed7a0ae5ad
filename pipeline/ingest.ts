import type { Readable } from 'node:stream';
import type { ConnectionPool } from '@databases/pg';
import type { SqlQueryable } from '../loaders/postgres/load-transaction.ts';
import {
  ensureMarts,
  type FileLoadResult,
  type FileToLoad,
  isRetryableLoad,
  keepReadersGranted,
  loadFile,
  type RawTableRegistry,
  rawTableRegistry,
  rebuildStaleViewTables,
  type LoadTarget,
  type ViewTable,
  viewTable,
  viewTarget,
  type SkippedMart,
} from '../loaders/index.ts';
import { checkParsedResource, type CompiledView, parseResourceLine, readLines } from '../transforms/index.ts';
import { registeredViewNames, registeredViewTables, StaleViewsError } from './views.ts';

/**
 * What every load of a run shares, whatever the connector: the warehouse, the fhir_raw
 * tables, and the view tables filled beside them. Prepared once per run: a view that is new
 * or whose definition changed is rebuilt from fhir_raw before any file adds rows to it.
 */
export interface LoadContext {
  db: ConnectionPool;
  rawTables: RawTableRegistry;
  viewTables: ViewTable[];
  /**
   * The views filled from the definitions the warehouse keeps (fhir_etl.views) because the
   * load was not given them (their folder left out): `schema.name`.
   */
  keptViews: string[];
  /**
   * The analytics marts left out because the view tables lack what they read (a column
   * dropped by hand, say), with PostgreSQL's reason: the load goes on, and says so.
   */
  skippedMarts: SkippedMart[];
  /** Fresh targets for one file (a target holds per-file staging state). */
  targets(): LoadTarget[];
  /** A longer NDJSON line is rejected without being held in memory. */
  maxLineBytes: number;
  /** A file with more rejects and value errors than this is rolled back (`load.maxRejects`); undefined: no limit. */
  maxRejects?: number | undefined;
}

export interface LoadContextOptions {
  /**
   * The views to fill. The warehouse's other view tables are filled too, from their stored
   * definitions, so none goes stale (see registeredViewTables).
   */
  views: CompiledView[];
  /**
   * `load --no-views`: refuse, naming them, when the warehouse has view tables (the load
   * would leave them stale), instead of filling them.
   */
  noViews?: boolean;
  /** Schema of the view tables (default `fhir`). */
  viewSchema?: string;
  maxLineBytes?: number;
  /** `--max-rejects` / `load.maxRejects`: see LoadContext. */
  maxRejects?: number | undefined;
}

export async function prepareLoad(db: ConnectionPool, options: LoadContextOptions): Promise<LoadContext> {
  if (options.noViews) {
    const registered = await registeredViewNames(db);
    if (registered.length > 0) throw new StaleViewsError(registered);
  }
  const given = options.views.map((view) => viewTable(view, options.viewSchema ?? 'fhir'));
  const kept = await registeredViewTables(
    db,
    given.map((table) => table.view.name),
  );
  const viewTables = [...given, ...kept];
  await rebuildStaleViewTables(db, viewTables);
  // The marts read the view tables, which may have been created just now.
  const marts = await ensureMarts(db, options.viewSchema ?? 'fhir');
  // A view schema new to the warehouse was just created: its readers read it at once.
  await keepReadersGranted(db, [...new Set(viewTables.map((table) => table.schema))]);
  return {
    db,
    rawTables: rawTableRegistry(db),
    viewTables,
    keptViews: kept.map((table) => `${table.schema}.${table.table}`),
    skippedMarts: marts.skipped,
    targets: () => (viewTables.length > 0 ? [viewTarget(viewTables)] : []),
    maxLineBytes: options.maxLineBytes ?? 64 * 1024 * 1024,
    maxRejects: options.maxRejects,
  };
}

export interface IngestOptions {
  /** Called with each chunk's size as the input is read (progress). */
  onBytes?: (bytes: number) => void;
  /** Runs inside the file's transaction just before it commits (a connector's checkpoint). */
  beforeCommit?: (tx: SqlQueryable, result: FileLoadResult) => Promise<void>;
}

/**
 * Loads one NDJSON stream (plain or gzip, from disk or an HTTP body) as one file: its rows,
 * rejects and checkpoint commit together, or, when the stream fails part way, nothing does.
 */
export async function ingestNdjson(
  ctx: LoadContext,
  file: FileToLoad,
  stream: Readable,
  options: IngestOptions = {},
): Promise<FileLoadResult> {
  const { lines, bytesRead } = countedLines(ctx, stream, options.onBytes);
  return loadFile(ctx.db, file, parsedLines(lines), {
    rawTables: ctx.rawTables,
    targets: ctx.targets(),
    bytesRead,
    maxRejects: ctx.maxRejects,
    beforeCommit: options.beforeCommit,
  });
}

/**
 * The lines of an NDJSON stream (plain or gzip), under the run's line-length guard, and the
 * bytes read so far (for the file record and progress).
 */
export function countedLines(
  ctx: Pick<LoadContext, 'maxLineBytes'>,
  stream: Readable,
  onBytes?: (bytes: number) => void,
): { lines: AsyncIterable<string>; bytesRead: () => number } {
  let bytes = 0;
  const lines = readLines(stream, {
    maxLineBytes: ctx.maxLineBytes,
    onBytes: (n) => {
      bytes += n;
      onBytes?.(n);
    },
  });
  return { lines, bytesRead: () => bytes };
}

/**
 * Loads resources already parsed (a FHIR search page's entries) as one file, checked exactly
 * as NDJSON lines are: `line` in rejects is the resource's position in the batch. A page held
 * in memory (an array) that lost a deadlock is loaded again, as a file on disk is (see loadFile).
 */
export async function ingestResources(
  ctx: LoadContext,
  file: FileToLoad,
  resources: Iterable<unknown> | AsyncIterable<unknown>,
  options: Pick<IngestOptions, 'beforeCommit'> = {},
): Promise<FileLoadResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await loadResources(ctx, file, resources, options);
    } catch (error) {
      const replayable = Array.isArray(resources);
      if (!replayable || attempt > CONFLICT_RETRIES || !isRetryableLoad(error, 'local file')) throw error;
    }
  }
}

/** Loads of a page again after a deadlock or serialization failure (its transaction rolled back). */
const CONFLICT_RETRIES = 2;

async function loadResources(
  ctx: LoadContext,
  file: FileToLoad,
  resources: Iterable<unknown> | AsyncIterable<unknown>,
  options: Pick<IngestOptions, 'beforeCommit'>,
): Promise<FileLoadResult> {
  let bytes = 0;
  async function* records() {
    let position = 0;
    for await (const resource of resources) {
      const checked = checkParsedResource(resource, ++position);
      bytes += Buffer.byteLength(checked.text) + 1;
      yield checked;
    }
  }
  return loadFile(ctx.db, file, records(), {
    rawTables: ctx.rawTables,
    targets: ctx.targets(),
    bytesRead: () => bytes,
    maxRejects: ctx.maxRejects,
    beforeCommit: options.beforeCommit,
  });
}

async function* parsedLines(lines: AsyncIterable<string>) {
  let line = 0;
  for await (const text of lines) yield parseResourceLine(text, ++line);
}
