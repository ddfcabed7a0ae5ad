import { type ConnectionPool, sql } from '@databases/pg';
import type { LoadTransaction } from '../postgres/load-transaction.ts';
import { TooManyRejectsError } from '../errors.ts';
import type { CopyBuffer } from '../postgres/copy-buffer.ts';
import { copyDirect, mayCopyDirect } from './direct-copy.ts';
import { DuplicateDetector } from './duplicate-ids.ts';
import { loadExactlyOnce } from './exactly-once.ts';
import type { LoadTarget, MergedType } from './load-target.ts';
import { RawBatch } from './raw-batch.ts';
import type { RawTableRegistry } from './raw-tables.ts';
import { insertRejects } from './rejects.ts';
import { copyStagedBatches, type StagedCopy } from './safety-net.ts';
import { createRawStage, lockForMerge, type MergeCounts, mergeType, stagedRawCopy } from './staged-merge.ts';
import {
  alreadyLoadedResult,
  type FileLoadResult,
  type FileToLoad,
  type RejectRecord,
  type ResourceRecord,
  type TargetCounts,
  type TypeCounts,
} from './types.ts';

export interface LoadFileOptions {
  rawTables: RawTableRegistry;
  /** Further tables filled from the same resources in the same transaction (the view tables). */
  targets?: LoadTarget[];
  /** Raw text kept per rejected line. */
  rejectTextLimit?: number;
  /**
   * Past this many rejects and value errors the file is rolled back (TooManyRejectsError);
   * undefined: no limit.
   */
  maxRejects?: number | undefined;
  /** Bytes of COPY text buffered before a batch is sent. */
  batchBytes?: number;
  /** The same for batches COPYed straight into fhir_raw (larger: one savepoint each). */
  directBatchBytes?: number;
  /** The input's size so far, for the file record (the caller counts bytes as it reads). */
  bytesRead?: () => number;
  /**
   * Runs last inside the file's transaction, after its rows and its fhir_etl.files record:
   * a connector's own checkpoint (a REST page cursor, a bulk file's state) commits with the data.
   */
  beforeCommit?: (tx: LoadTransaction, result: FileLoadResult) => Promise<void>;
}

/**
 * Loads one file exactly once: its resources, its rejects and its checkpoint (the
 * fhir_etl.files row) commit in one transaction, or none of them do.
 *
 * Two paths to fhir_raw.<type>, chosen per type and batch, with the same result:
 *
 * - Direct (direct-copy.ts): when the source has no row yet in the type's table and no other file is copying
 *   the type directly (mayCopyDirect, checked when the file first meets its first type),
 *   batches are COPYed straight into fhir_raw, each in a savepoint, and their view rows
 *   straight into the view tables. This is what psql \copy does: the jsonb is parsed once and
 *   written once. A file that repeats an id leaves the direct path at the repeat
 *   (DuplicateDetector). The primary key (source, id) stays the judge: an id taken anyway (a
 *   writer outside these locks) fails the COPY with a unique violation (or a deadlock), the
 *   savepoint is rolled back, and that batch and the rest of the type take the staged path.
 * - Staged (staged-merge.ts): batches are COPYed into a temporary staging table, then merged set-wise: a copy
 *   replaces the stored one unless the stored one is newer by meta.lastUpdated or versionId
 *   (fhir_etl.supersedes), and an identical copy changes nothing. A stored row this same file
 *   copied directly is replaced by the file's own rule instead (the newest copy in the file,
 *   then the last line), so the path taken never changes the result.
 *
 * A batch's COPY text is built by RawBatch (raw-batch.ts); the view tables are a LoadTarget
 * (load-target.ts) filled by the same two paths.
 *
 * Deadlocks: two files writing the same ids in different orders can wait on each other, and
 * PostgreSQL fails one of them (40P01). The file then rolls back whole, which frees everything
 * it held, and its caller loads it again (isRetryableLoad: pipeline/load.ts for files on disk,
 * the bulk download, ingestResources for a REST page). That is the only retry: a step retried
 * inside the transaction would keep the locks the deadlock is made of.
 *
 * Savepoints: each direct batch is one subtransaction. PostgreSQL caches 64 subtransaction ids
 * per backend; past that, other sessions' visibility checks may consult pg_subtrans while the
 * file loads. Direct batches are therefore twice the staged ones (`directBatchBytes`, 8 MB):
 * up to ~500 MB a file stays within the cache, a 1 GB file takes about 130.
 */
export async function loadFile(
  db: ConnectionPool,
  file: FileToLoad,
  records: AsyncIterable<ResourceRecord | RejectRecord | undefined>,
  options: LoadFileOptions,
): Promise<FileLoadResult> {
  return loadExactlyOnce(
    db,
    file,
    { action: 'load', alreadyLoaded: alreadyLoadedResult, beforeCommit: options.beforeCommit },
    async (tx) => {
      const result = await loadInTransaction(tx, file, records, options);
      return { result, record: result };
    },
  );
}

async function loadInTransaction(
  tx: LoadTransaction,
  file: FileToLoad,
  records: AsyncIterable<ResourceRecord | RejectRecord | undefined>,
  options: LoadFileOptions,
): Promise<FileLoadResult> {
  await tx.query(
    sql`CREATE TEMP TABLE fhir_etl_changed (resource_type text, id text, seq integer) ON COMMIT DROP`,
  );
  const targets = options.targets ?? [];
  for (const target of targets) await target.begin(tx);

  const batch = new RawBatch(file, options.batchBytes ?? 4 << 20, options.directBatchBytes ?? 8 << 20);
  const rejects: RejectRecord[] = [];
  const duplicates = new DuplicateDetector();
  const types = new Map<string, TypeState>();
  let stageCreated = false;
  /** The file was granted some type's direct lock (exclusively): it must never wait on another. */
  let holdsDirectLock = false;
  let lines = 0;
  let rejectCount = 0;
  const limit = rejectLimit(file, options.maxRejects);

  const flush = async () => {
    // Everything pending is detached now, synchronously: the next batch fills while this one is sent.
    const raw = batch.take();
    const targetBatches = targets.map((target) => target.take());
    const pendingRejects = rejects.splice(0);
    for (const [resourceType, rows] of raw.direct) {
      const state = types.get(resourceType) as TypeState;
      // Rows added before a repeat are first occurrences: they may still go direct. After a
      // refusal the rest of the type is staged (its ids are evidently not all new).
      const outcome = state.refused ? 'taken' : await copyDirect(tx, file, resourceType, rows, targetBatches);
      if (outcome === 'landed') {
        state.directInserted += rows.count;
        state.ownXmins.add(rows.xmin as string);
        for (const t of targetBatches) t.landed(resourceType);
        continue;
      }
      // The batch is staged as a whole (raw rows and view rows): it must count as staged, or the
      // type would never be merged (a type whose rows were all added direct has staged === 0).
      // A row's data refused: only this batch is staged, where the safety net finds the row.
      if (outcome === 'taken') {
        state.direct = false;
        state.refused = true;
      }
      state.staged += rows.count;
      rows.stageInto(raw.staged);
      for (const t of targetBatches) t.demote(resourceType);
    }
    const copies: StagedCopy[] = [];
    if (raw.staged.length > 0) {
      if (!stageCreated) await createRawStage(tx);
      stageCreated = true;
      copies.push(rawCopy(raw.staged));
    }
    for (const t of targetBatches) copies.push(...(await t.stagedCopies(tx)));
    for (const refused of await copyStagedBatches(tx, copies)) {
      pendingRejects.push(refused);
      limit.count(refused);
    }
    if (pendingRejects.length > 0)
      rejectCount += await insertRejects(tx, file, pendingRejects, options.rejectTextLimit);
  };
  /**
   * A staged raw row PostgreSQL refused is a reject: it is neither merged nor counted. (It
   * stays in `staged`, so the view tables take only the staged rows of merged resources.)
   */
  const rawCopy = (rows: CopyBuffer): StagedCopy => {
    const copy = stagedRawCopy(rows);
    return {
      ...copy,
      refused(row, error) {
        const reject = copy.refused(row, error);
        const state = types.get(reject.resourceType ?? '');
        if (state) state.counts.resources--;
        return reject;
      },
    };
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
      limit.count(record);
    } else {
      let state = types.get(record.resourceType);
      if (!state) {
        const table = await options.rawTables.ensure(record.resourceType);
        // Only a file's first type: one exclusive lock a file, taken before it writes any row.
        const decision =
          types.size === 0 ? await mayCopyDirect(tx, file, table) : { locked: false, direct: false };
        holdsDirectLock ||= decision.locked;
        state = {
          counts: { resources: 0, inserted: 0, updated: 0 },
          direct: decision.direct,
          refused: false,
          directInserted: 0,
          staged: 0,
          ownXmins: new Set(),
        };
        types.set(record.resourceType, state);
      }
      state.counts.resources++;
      // A repeat may be of a copy already sent directly: the merge then settles it by the file's rule.
      if (duplicates.see(record.resourceType, record.id)) state.direct = false;
      if (state.direct) {
        batch.addDirect(record);
      } else {
        batch.addStaged(record);
        state.staged++;
      }
      for (const target of targets) {
        const failure = target.add(record, record.line, state.direct);
        if (failure) {
          rejects.push(failure);
          limit.count(failure);
        }
      }
    }
    if (batch.full || rejects.length >= 1000 || targets.some((t) => t.full)) await startFlush();
  }
  await startFlush();
  await inFlight;

  // Every type with a row in the staging table is merged (rows added direct and then staged
  // by a refused batch included), in one order for every file: by type name.
  const toMerge = [...types.keys()].filter((type) => (types.get(type) as TypeState).staged > 0).sort();
  await lockForMerge(tx, file, toMerge, holdsDirectLock);
  const mergedBy = new Map<string, MergeCounts>();
  for (const resourceType of toMerge) {
    const state = types.get(resourceType) as TypeState;
    mergedBy.set(
      resourceType,
      await mergeType(tx, file, resourceType, duplicates.has(resourceType), state.ownXmins),
    );
  }
  const counts: Record<string, TypeCounts> = {};
  const merged: Record<string, MergedType> = {};
  for (const [resourceType, state] of types) {
    const stagedMerge = mergedBy.get(resourceType) ?? { inserted: 0, updated: 0, ownReplaced: 0 };
    // A row the file copied directly and then replaced with a later copy of itself is one insert.
    state.counts.inserted = state.directInserted + stagedMerge.inserted;
    state.counts.updated = stagedMerge.updated - stagedMerge.ownReplaced;
    counts[resourceType] = state.counts;
    merged[resourceType] = {
      resources: state.staged,
      inserted: stagedMerge.inserted,
      updated: stagedMerge.updated,
      repeated: duplicates.has(resourceType),
    };
  }
  const viewCounts: TargetCounts = {};
  let valueErrors = 0;
  for (const target of targets) {
    const written = await target.finish(tx, file, merged);
    Object.assign(viewCounts, written.rows);
    valueErrors += written.valueErrors;
  }

  limit.countValueErrors(valueErrors);
  const resources = Object.values(counts).reduce((sum, c) => sum + c.resources, 0);
  return {
    status: 'loaded',
    lines,
    bytes: options.bytesRead?.() ?? 0,
    resources,
    rejects: rejectCount,
    valueErrors,
    counts,
    viewCounts,
  };
}

/** Where one resource type of the file stands. */
interface TypeState {
  counts: TypeCounts;
  /** New resources of the type go direct (it only ever leaves this path). */
  direct: boolean;
  /** A direct copy was refused: pending direct rows are staged without trying. */
  refused: boolean;
  directInserted: number;
  /** Resources sent through the staging table (a refused direct batch's included): merged when > 0. */
  staged: number;
  /** LoadTransaction ids (xmin) of the savepoints that copied rows directly: rows this file wrote. */
  ownXmins: Set<string>;
}

/**
 * Counts a file's bad lines and values against `--max-rejects`: past the limit it throws,
 * which rolls the file back. Rejects are counted as they are found (a file of bad lines stops
 * early); value errors once the view tables are written (a staged row's only count if merged).
 */
function rejectLimit(file: FileToLoad, max: number | undefined) {
  let bad = 0;
  let first: string | undefined;
  const check = () => {
    if (max !== undefined && bad > max) throw new TooManyRejectsError(file.path, bad, max, first);
  };
  return {
    count(reject: RejectRecord): void {
      bad++;
      first ??= `line ${reject.line}: ${reject.reason}`;
      check();
    },
    countValueErrors(count: number): void {
      bad += count;
      first ??= count > 0 ? `${count} values written NULL (fhir-etl rejects --values)` : undefined;
      check();
    },
  };
}
