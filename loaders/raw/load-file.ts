import { type ConnectionPool, sql, type Transaction } from '@databases/pg';
import { LoadError } from '../errors.ts';
import { copyInto } from '../postgres/copy.ts';
import { COPY_NULL, escapeCopyText } from '../postgres/copy-text.ts';
import { type RawTableRegistry, rawTableName } from './raw-tables.ts';
import type { StagedTarget, TargetCounts } from './staged-target.ts';
import type { AcceptedLine, RejectedLine } from '../../transforms/index.ts';

/** A resource read from a file, ready to land (its `text` is stored as is in fhir_raw). */
export type ResourceRecord = AcceptedLine;

/** A line or resource that could not be loaded; it goes to fhir_etl.rejects. */
export type RejectRecord = RejectedLine;

export interface FileToLoad {
  source: string;
  /** Identifies the file across runs: a committed key is never loaded twice. */
  fileKey: string;
  /** Shown in rejects and messages. */
  path: string;
  runId: number;
}

export interface TypeCounts {
  resources: number;
  inserted: number;
  updated: number;
}

export interface FileLoadResult {
  status: 'loaded' | 'already-loaded';
  lines: number;
  bytes: number;
  resources: number;
  rejects: number;
  counts: Record<string, TypeCounts>;
  viewCounts: TargetCounts;
}

export interface LoadFileOptions {
  rawTables: RawTableRegistry;
  /** Further tables filled from the same resources in the same transaction (the view tables). */
  targets?: StagedTarget[];
  /** Raw text kept per rejected line. */
  rejectTextLimit?: number;
  /** Bytes of COPY text buffered before a batch is sent. */
  batchBytes?: number;
  /** The input's size so far, for the file record (the caller counts bytes as it reads). */
  bytesRead?: () => number;
  /**
   * Runs last inside the file's transaction, after its rows and its fhir_etl.files record:
   * a connector's own checkpoint (a REST page cursor, a bulk file's state) commits with the data.
   */
  beforeCommit?: (tx: Transaction, result: FileLoadResult) => Promise<void>;
}

const STAGE = 'fhir_etl_stage_raw';

/**
 * Loads one file exactly once: its resources, its rejects and its checkpoint (the
 * fhir_etl.files row) commit in one transaction, or none of them do.
 *
 * Resources are COPYed in batches into a temporary staging table, then merged set-wise into
 * fhir_raw.<type>: a copy replaces the stored one unless the stored one is newer by
 * meta.lastUpdated or versionId (fhir_etl.supersedes), and an identical copy changes nothing.
 */
export async function loadFile(
  db: ConnectionPool,
  file: FileToLoad,
  records: AsyncIterable<ResourceRecord | RejectRecord | undefined>,
  options: LoadFileOptions,
): Promise<FileLoadResult> {
  try {
    return await db.tx((tx) => loadInTransaction(tx, file, records, options));
  } catch (cause) {
    if (cause instanceof LoadError) throw cause;
    throw new LoadError(
      `could not load ${file.path}: ${(cause as Error).message}`,
      { file: file.path },
      cause,
    );
  }
}

async function loadInTransaction(
  tx: Transaction,
  file: FileToLoad,
  records: AsyncIterable<ResourceRecord | RejectRecord | undefined>,
  options: LoadFileOptions,
): Promise<FileLoadResult> {
  await tx.query(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`${file.source}|${file.fileKey}`}, 0))`);
  if (await isCommitted(tx, file)) return alreadyLoaded();
  await tx.query(sql`
    CREATE TEMP TABLE ${sql.ident(STAGE)} (
      seq integer, resource_type text, id text, version_id text, last_updated timestamptz, resource text
    ) ON COMMIT DROP`);
  await tx.query(
    sql`CREATE TEMP TABLE fhir_etl_changed (resource_type text, id text, seq integer) ON COMMIT DROP`,
  );
  const targets = options.targets ?? [];
  for (const target of targets) await target.begin(tx);

  const batch = new StagingBatch(options.batchBytes ?? 4 << 20);
  const rejects: RejectRecord[] = [];
  const duplicates = new DuplicateDetector();
  const counts: Record<string, TypeCounts> = {};
  let lines = 0;
  let rejectCount = 0;
  const flush = async () => {
    if (batch.size > 0) await copyInto(tx, `COPY ${STAGE} FROM STDIN`, batch.take());
    for (const target of targets) await target.flush(tx);
    if (rejects.length > 0) rejectCount += await insertRejects(tx, file, rejects.splice(0), options);
  };
  // One batch is sent while the next is parsed: PostgreSQL ingests as Node parses, and at
  // most two batches are in memory. Only one flush runs at a time on the connection.
  let inFlight: Promise<void> = Promise.resolve();
  const startFlush = async () => {
    await inFlight;
    inFlight = flush();
    inFlight.catch(() => undefined);
  };

  for await (const record of records) {
    lines++;
    if (record === undefined) continue;
    if (!record.ok) {
      rejects.push(record);
    } else {
      if (!counts[record.resourceType]) {
        await options.rawTables.ensure(record.resourceType);
        counts[record.resourceType] = { resources: 0, inserted: 0, updated: 0 };
      }
      (counts[record.resourceType] as TypeCounts).resources++;
      duplicates.see(record.resourceType, record.id);
      batch.add(record);
      for (const target of targets) {
        const failure = target.add(record, record.line);
        if (failure) rejects.push(failure);
      }
    }
    if (batch.full || rejects.length >= 1000 || targets.some((t) => t.full)) await startFlush();
  }
  await startFlush();
  await inFlight;

  for (const [resourceType, typeCounts] of Object.entries(counts)) {
    const merged = await mergeType(tx, file, resourceType, duplicates.has(resourceType));
    typeCounts.inserted = merged.inserted;
    typeCounts.updated = merged.updated;
  }
  const viewCounts: TargetCounts = {};
  const merged = Object.fromEntries(
    Object.entries(counts).map(([type, c]) => [type, { ...c, repeated: duplicates.has(type) }]),
  );
  for (const target of targets) Object.assign(viewCounts, await target.finish(tx, file, merged));

  const resources = Object.values(counts).reduce((sum, c) => sum + c.resources, 0);
  const bytes = options.bytesRead?.() ?? 0;
  await tx.query(sql`
    INSERT INTO fhir_etl.files (source, file_key, path, bytes, lines, resources, rejects, counts, run_id)
    VALUES (${file.source}, ${file.fileKey}, ${file.path}, ${bytes}, ${lines}, ${resources}, ${rejectCount},
            ${JSON.stringify(counts)}::jsonb, ${file.runId})`);
  const result: FileLoadResult = { status: 'loaded', lines, bytes, resources, rejects: rejectCount, counts, viewCounts };
  await options.beforeCommit?.(tx, result);
  return result;
}

async function isCommitted(tx: Transaction, file: FileToLoad): Promise<boolean> {
  const rows = await tx.query(
    sql`SELECT 1 FROM fhir_etl.files WHERE source = ${file.source} AND file_key = ${file.fileKey}`,
  );
  return rows.length > 0;
}

function alreadyLoaded(): FileLoadResult {
  return {
    status: 'already-loaded',
    lines: 0,
    bytes: 0,
    resources: 0,
    rejects: 0,
    counts: {},
    viewCounts: {},
  };
}

/**
 * Merges the staged copies of one type into fhir_raw and records which resources changed in
 * fhir_etl_changed (for the view tables). When the file holds the same id twice, the newest
 * copy (then the last line) is the one merged.
 */
async function mergeType(
  tx: Transaction,
  file: FileToLoad,
  resourceType: string,
  hasDuplicates: boolean,
): Promise<{ inserted: number; updated: number }> {
  const table = sql.ident('fhir_raw', rawTableName(resourceType));
  const staged = hasDuplicates
    ? sql`SELECT DISTINCT ON (id) seq, id, version_id, last_updated, resource FROM ${sql.ident(STAGE)}
          WHERE resource_type = ${resourceType}
          ORDER BY id, last_updated DESC NULLS LAST,
                   CASE WHEN version_id ~ '^[0-9]{1,18}$' THEN version_id::bigint END DESC NULLS LAST, seq DESC`
    : sql`SELECT seq, id, version_id, last_updated, resource FROM ${sql.ident(STAGE)}
          WHERE resource_type = ${resourceType}`;
  const [row] = await tx.query(sql`
    WITH staged AS MATERIALIZED (${staged}),
    merged AS (
      INSERT INTO ${table} AS t (source, id, version_id, last_updated, resource, run_id, deleted)
      SELECT ${file.source}, id, version_id, last_updated, resource::jsonb, ${file.runId}, false FROM staged
      ON CONFLICT (source, id) DO UPDATE
        SET version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated,
            resource = EXCLUDED.resource, run_id = EXCLUDED.run_id, deleted = false
        WHERE fhir_etl.supersedes(EXCLUDED.last_updated, EXCLUDED.version_id, t.last_updated, t.version_id)
          AND (t.deleted OR t.resource IS DISTINCT FROM EXCLUDED.resource)
      RETURNING t.id, (t.xmax = 0) AS inserted
    ),
    changed AS (
      INSERT INTO fhir_etl_changed (resource_type, id, seq)
      SELECT ${resourceType}, merged.id, staged.seq FROM merged JOIN staged USING (id)
    )
    SELECT count(*) FILTER (WHERE inserted)::int AS inserted, count(*) FILTER (WHERE NOT inserted)::int AS updated
    FROM merged`);
  return { inserted: row.inserted, updated: row.updated };
}

async function insertRejects(
  tx: Transaction,
  file: FileToLoad,
  rejects: RejectRecord[],
  options: LoadFileOptions,
): Promise<number> {
  const limit = options.rejectTextLimit ?? 4096;
  await tx.query(sql`
    INSERT INTO fhir_etl.rejects (run_id, source, file, line, resource_type, resource_id, reason, raw)
    SELECT ${file.runId}, ${file.source}, ${file.path}, r.line, r.resource_type, r.resource_id, r.reason, r.raw
    FROM unnest(${rejects.map((r) => r.line)}::bigint[], ${rejects.map((r) => r.resourceType ?? null)}::text[],
                ${rejects.map((r) => r.id ?? null)}::text[], ${rejects.map((r) => r.reason)}::text[],
                ${rejects.map((r) => r.text.slice(0, limit))}::text[])
         AS r(line, resource_type, resource_id, reason, raw)`);
  return rejects.length;
}

/** Accumulates COPY text for the raw staging table, one row per resource. */
class StagingBatch {
  #parts: string[] = [];
  #bytes = 0;
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get size(): number {
    return this.#parts.length;
  }

  get full(): boolean {
    return this.#bytes >= this.#limit;
  }

  add(record: ResourceRecord): void {
    const row = `${record.line}\t${record.resourceType}\t${escapeCopyText(record.id)}\t${
      record.versionId === null ? COPY_NULL : escapeCopyText(record.versionId)
    }\t${record.lastUpdated ?? COPY_NULL}\t${escapeCopyText(record.text)}\n`;
    this.#parts.push(row);
    this.#bytes += row.length;
  }

  take(): string {
    const payload = this.#parts.join('');
    this.#parts = [];
    this.#bytes = 0;
    return payload;
  }
}

/**
 * Tells whether a file repeats an id within a type, so the merge can skip the sort that
 * picks the newest copy when (as in nearly every export) it does not. Ids are kept as 52-bit
 * hashes to bound memory: a collision only costs the slower, still correct, path.
 */
class DuplicateDetector {
  #seen = new Map<string, Set<number>>();
  #duplicated = new Set<string>();

  see(resourceType: string, id: string): void {
    if (this.#duplicated.has(resourceType)) return;
    let ids = this.#seen.get(resourceType);
    if (!ids) {
      ids = new Set();
      this.#seen.set(resourceType, ids);
    }
    const hash = hash52(id);
    if (ids.has(hash)) {
      this.#duplicated.add(resourceType);
      this.#seen.delete(resourceType);
    } else {
      ids.add(hash);
    }
  }

  has(resourceType: string): boolean {
    return this.#duplicated.has(resourceType);
  }
}

function hash52(text: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return (a >>> 0) * 0x100000 + ((b >>> 0) & 0xfffff);
}
