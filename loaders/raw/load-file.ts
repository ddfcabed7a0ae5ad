import { type ConnectionPool, type SQLQuery, sql, type Transaction } from '@databases/pg';
import { copyInto } from '../postgres/copy.ts';
import { CopyBuffer } from '../postgres/copy-buffer.ts';
import { COPY_NULL, escapeCopyText } from '../postgres/copy-text.ts';
import { loadExactlyOnce } from './exactly-once.ts';
import { type RawTableRegistry, rawTableName } from './raw-tables.ts';
import { insertRejects } from './rejects.ts';
import type { MergedType, StagedTarget, TargetBatch, TargetCounts } from './staged-target.ts';
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
  /**
   * The file's identity across downloads, when it may come again under another fileKey (a Bulk
   * file of a new export): its rejects are keyed by it, so loading it again replaces them.
   */
  rejectKey?: string;
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
  /** The same for batches COPYed straight into fhir_raw (larger: one savepoint each). */
  directBatchBytes?: number;
  /** The input's size so far, for the file record (the caller counts bytes as it reads). */
  bytesRead?: () => number;
  /**
   * Runs last inside the file's transaction, after its rows and its fhir_etl.files record:
   * a connector's own checkpoint (a REST page cursor, a bulk file's state) commits with the data.
   */
  beforeCommit?: (tx: Transaction, result: FileLoadResult) => Promise<void>;
}

const STAGE = 'fhir_etl_stage_raw';

/** Errors that mean "this id is taken" (or a wait on a concurrent loader of it was broken). */
const ID_TAKEN = new Set(['23505', '40P01']);

/**
 * Loads one file exactly once: its resources, its rejects and its checkpoint (the
 * fhir_etl.files row) commit in one transaction, or none of them do.
 *
 * Two paths to fhir_raw.<type>, chosen per type and batch, with the same result:
 *
 * - Direct: when the source has no row yet in the type's table and no other file is copying
 *   the type directly (mayCopyDirect, checked when the file first meets its first type),
 *   batches are COPYed straight into fhir_raw, each in a savepoint, and their view rows
 *   straight into the view tables. This is what psql \copy does: the jsonb is parsed once and
 *   written once. A file that repeats an id leaves the direct path at the repeat
 *   (DuplicateDetector). The primary key (source, id) stays the judge: an id taken anyway (a
 *   writer outside these locks) fails the COPY with a unique violation (or a deadlock), the
 *   savepoint is rolled back, and that batch and the rest of the type take the staged path.
 * - Staged: batches are COPYed into a temporary staging table, then merged set-wise: a copy
 *   replaces the stored one unless the stored one is newer by meta.lastUpdated or versionId
 *   (fhir_etl.supersedes), and an identical copy changes nothing. A stored row this same file
 *   copied directly is replaced by the file's own rule instead (the newest copy in the file,
 *   then the last line), so the path taken never changes the result.
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
  tx: Transaction,
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

  const flush = async () => {
    // Everything pending is detached now, synchronously: the next batch fills while this one is sent.
    const raw = batch.take();
    const targetBatches = targets.map((target) => target.take());
    const pendingRejects = rejects.splice(0);
    for (const [resourceType, rows] of raw.direct) {
      const state = types.get(resourceType) as TypeState;
      // Rows added before a repeat are first occurrences: they may still go direct. After a
      // refusal the rest of the type is staged (its ids are evidently not all new).
      if (!state.refused && (await copyDirect(tx, file, resourceType, rows, targetBatches))) {
        state.directInserted += rows.count;
        state.ownXmins.add(rows.xmin as string);
        for (const t of targetBatches) t.landed(resourceType);
        continue;
      }
      // The batch is staged as a whole (raw rows and view rows): it must count as staged, or the
      // type would never be merged (a type whose rows were all added direct has staged === 0).
      state.direct = false;
      state.refused = true;
      state.staged += rows.count;
      rows.stageInto(raw.staged);
      for (const t of targetBatches) t.demote(resourceType);
    }
    if (raw.staged.length > 0) {
      if (!stageCreated) {
        await tx.query(sql`
          CREATE TEMP TABLE ${sql.ident(STAGE)} (
            id text, version_id text, last_updated timestamptz, resource text, seq integer, resource_type text
          ) ON COMMIT DROP`);
        stageCreated = true;
      }
      await copyInto(tx, `COPY ${STAGE} FROM STDIN`, raw.staged.contents());
    }
    for (const t of targetBatches) await t.copyStaged(tx);
    if (pendingRejects.length > 0)
      rejectCount += await insertRejects(tx, file, pendingRejects, options.rejectTextLimit);
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
        if (failure) rejects.push(failure);
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
  const mergedBy = new Map<string, { inserted: number; updated: number; ownReplaced: number }>();
  for (const resourceType of toMerge) {
    const state = types.get(resourceType) as TypeState;
    mergedBy.set(
      resourceType,
      await retryOnDeadlock(tx, () =>
        mergeType(tx, file, resourceType, duplicates.has(resourceType), state.ownXmins),
      ),
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
  for (const target of targets) {
    Object.assign(viewCounts, await retryOnDeadlock(tx, () => target.finish(tx, file, merged)));
  }

  const resources = Object.values(counts).reduce((sum, c) => sum + c.resources, 0);
  return {
    status: 'loaded',
    lines,
    bytes: options.bytesRead?.() ?? 0,
    resources,
    rejects: rejectCount,
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
  /** Transaction ids (xmin) of the savepoints that copied rows directly: rows this file wrote. */
  ownXmins: Set<string>;
}

/**
 * Runs a step in a savepoint and runs it again when PostgreSQL chose it as a deadlock's victim.
 * Two files writing the same ids in different orders (two merges, or a merge and a direct
 * copy) can wait on each other; rolling the victim's step back lets the other file go on,
 * and the retry then waits for it instead of failing the file.
 */
async function retryOnDeadlock<T>(tx: Transaction, step: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    await tx.query(sql`SAVEPOINT fhir_etl_step`);
    try {
      const result = await step();
      await tx.query(sql`RELEASE SAVEPOINT fhir_etl_step`);
      return result;
    } catch (error) {
      if ((error as { code?: string }).code !== '40P01' || attempt >= DEADLOCK_RETRIES) throw error;
      await tx.query(sql`ROLLBACK TO SAVEPOINT fhir_etl_step`);
      await tx.query(sql`RELEASE SAVEPOINT fhir_etl_step`);
    }
  }
}

const DEADLOCK_RETRIES = 5;

/**
 * Whether a type may take the direct path: this file must be the only one writing the
 * source's rows of the type until it commits (an exclusive advisory lock, tried, never waited
 * for; staged merges take it shared), and the source must have no row of the type yet, not
 * even a deleted one. Two loads of one type then do not, as a rule, hold rows the other
 * needs: the second stages its rows, and its merge waits for the first to commit.
 * `locked`: the exclusive lock was granted (and is held until commit, even when `direct` is
 * false because the type has rows after all).
 */
async function mayCopyDirect(
  tx: Transaction,
  file: FileToLoad,
  table: string,
): Promise<{ locked: boolean; direct: boolean }> {
  const hasRows = sql`EXISTS (SELECT 1 FROM ${sql.ident('fhir_raw', table)} WHERE source = ${file.source})`;
  // A reload keeps off the lock, which would hold up the other files' merges of the type.
  const [before] = await tx.query(sql`SELECT ${hasRows} AS found`);
  if (before.found) return { locked: false, direct: false };
  const [row] = await tx.query(
    sql`SELECT pg_try_advisory_xact_lock(${directLockKey(file, table)}) AS locked`,
  );
  if (!row.locked) return { locked: false, direct: false };
  const [after] = await tx.query(sql`SELECT ${hasRows} AS found`);
  return { locked: true, direct: !after.found };
}

/**
 * Takes the shared direct locks of the types about to be merged (sorted by name). The locks
 * only keep merges and direct copies of one type apart, to spare them waiting on each other's
 * rows; they are not what keeps the data right. That is the primary key: a direct copy that
 * meets an id taken meanwhile is refused (23505, or 40P01 as a deadlock's victim) and staged,
 * and a merge meeting a direct copy's uncommitted row waits for it and then applies
 * fhir_etl.supersedes. So a lock that cannot be had safely is simply gone without.
 *
 * No file may wait for an advisory lock while holding something another file can wait for:
 * - A file holding a type's direct lock (exclusive) holds rows others may wait for (its
 *   direct copies) and a lock others may wait for. It only tries the shared locks: if another
 *   file is copying that type directly, it merges without the lock. Waiting instead is the
 *   deadlock of two multi-type files in opposite orders: A copies Patients directly and waits
 *   for Encounter's lock, held by B, which copies Encounters directly and waits for Patient's.
 * - Any other file has written nothing to fhir_raw or the view tables yet (its rows are in
 *   temporary tables; rejects conflict with nothing) and holds only shared locks, which
 *   exclude only the try of a would-be direct file. It takes every lock it needs here, before
 *   its first merge, and may wait: whoever holds a direct lock exclusively never waits for an
 *   advisory lock, so the wait ends when that file commits or rolls back.
 * Two direct files that merge each other's direct type with overlapping ids can still wait on
 * each other's rows: PostgreSQL then breaks the deadlock, retryOnDeadlock retries the merge,
 * and if the file still cannot go on it fails with 40P01 and `fhir-etl load` loads it again.
 */
async function lockForMerge(
  tx: Transaction,
  file: FileToLoad,
  resourceTypes: string[],
  holdsDirectLock: boolean,
): Promise<void> {
  for (const resourceType of resourceTypes) {
    await tx.query(
      holdsDirectLock
        ? sql`SELECT pg_try_advisory_xact_lock_shared(${directLockKey(file, resourceType)})`
        : sql`SELECT pg_advisory_xact_lock_shared(${directLockKey(file, resourceType)})`,
    );
  }
}

function directLockKey(file: FileToLoad, table: string): SQLQuery {
  return sql`hashtextextended(${`fhir_raw|${file.source}|${rawTableName(table)}`}, 0)`;
}

/**
 * COPYs one batch of a type straight into fhir_raw (and its view rows into the view tables)
 * inside a savepoint. Returns false, with the savepoint rolled back, when an id is taken.
 */
async function copyDirect(
  tx: Transaction,
  file: FileToLoad,
  resourceType: string,
  rows: DirectRows,
  targetBatches: TargetBatch[],
): Promise<boolean> {
  const table = rawTableName(resourceType);
  await tx.query(sql`SAVEPOINT fhir_etl_direct`);
  try {
    await copyInto(
      tx,
      `COPY fhir_raw."${table}" (id, version_id, last_updated, resource, source, run_id) FROM STDIN`,
      rows.payload(),
    );
    for (const t of targetBatches) await t.copyDirect(tx, file, resourceType);
  } catch (error) {
    if (!ID_TAKEN.has((error as { code?: string }).code ?? '')) throw error;
    await tx.query(sql`ROLLBACK TO SAVEPOINT fhir_etl_direct`);
    await tx.query(sql`RELEASE SAVEPOINT fhir_etl_direct`);
    return false;
  }
  // The savepoint's transaction id marks the rows this file wrote (see mergeType).
  const [row] = await tx.query(
    sql`SELECT xmin::text AS xmin FROM ${sql.ident('fhir_raw', table)} WHERE source = ${file.source} AND id = ${rows.firstId}`,
  );
  rows.landedIn(row.xmin);
  await tx.query(sql`RELEASE SAVEPOINT fhir_etl_direct`);
  return true;
}

/** The result of a file an earlier load committed: nothing was read. */
export function alreadyLoadedResult(): FileLoadResult {
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
 * copy (then the last line) is the one merged. A stored row written by this file's direct
 * path (its xmin is one of `ownXmins`) is an earlier line of the same file, so the same rule
 * decides, not fhir_etl.supersedes; such replacements are counted apart (`ownReplaced`).
 */
async function mergeType(
  tx: Transaction,
  file: FileToLoad,
  resourceType: string,
  hasDuplicates: boolean,
  ownXmins: Set<string>,
): Promise<{ inserted: number; updated: number; ownReplaced: number }> {
  const table = sql.ident('fhir_raw', rawTableName(resourceType));
  const staged = hasDuplicates
    ? sql`SELECT DISTINCT ON (id) seq, id, version_id, last_updated, resource FROM ${sql.ident(STAGE)}
          WHERE resource_type = ${resourceType}
          ORDER BY id, last_updated DESC NULLS LAST, ${versionNumber(sql`version_id`)} DESC NULLS LAST, seq DESC`
    : sql`SELECT seq, id, version_id, last_updated, resource FROM ${sql.ident(STAGE)}
          WHERE resource_type = ${resourceType}`;
  const own = [...ownXmins];
  const mayReplaceOwn = hasDuplicates && own.length > 0;
  const supersedes = sql`fhir_etl.supersedes(EXCLUDED.last_updated, EXCLUDED.version_id, t.last_updated, t.version_id)`;
  const [row] = await tx.query(sql`
    WITH staged AS MATERIALIZED (${staged}),
    own AS MATERIALIZED (
      ${
        mayReplaceOwn
          ? sql`SELECT t.id FROM staged JOIN ${table} t ON t.source = ${file.source} AND t.id = staged.id
                WHERE t.xmin::text = ANY(${own}::text[])`
          : sql`SELECT NULL::text AS id WHERE false`
      }
    ),
    merged AS (
      INSERT INTO ${table} AS t (source, id, version_id, last_updated, resource, run_id, deleted)
      SELECT ${file.source}, id, version_id, last_updated, resource::jsonb, ${file.runId}, false FROM staged
      ON CONFLICT (source, id) DO UPDATE
        SET version_id = EXCLUDED.version_id, last_updated = EXCLUDED.last_updated,
            resource = EXCLUDED.resource, run_id = EXCLUDED.run_id, deleted = false
        WHERE ${
          mayReplaceOwn
            ? sql`CASE WHEN t.xmin::text = ANY(${own}::text[]) THEN ${laterInFile()} ELSE ${supersedes} END`
            : supersedes
        }
          AND (t.deleted OR t.resource IS DISTINCT FROM EXCLUDED.resource)
      RETURNING t.id, (t.xmax = 0) AS inserted
    ),
    changed AS (
      INSERT INTO fhir_etl_changed (resource_type, id, seq)
      SELECT ${resourceType}, merged.id, staged.seq FROM merged JOIN staged USING (id)
    )
    SELECT count(*) FILTER (WHERE inserted)::int AS inserted, count(*) FILTER (WHERE NOT inserted)::int AS updated,
           count(*) FILTER (WHERE NOT inserted AND id IN (SELECT id FROM own))::int AS own_replaced
    FROM merged`);
  return { inserted: row.inserted, updated: row.updated, ownReplaced: row.own_replaced };
}

function versionNumber(column: SQLQuery): SQLQuery {
  return sql`CASE WHEN ${column} ~ '^[0-9]{1,18}$' THEN ${column}::bigint END`;
}

/**
 * The file's own order between a staged copy (EXCLUDED) and an earlier line of the same file
 * stored directly (t), as the DISTINCT ON above orders copies: the later meta.lastUpdated (a
 * value before none), then the larger numeric versionId (a number before none), then the
 * later line, which the staged copy always is.
 */
function laterInFile(): SQLQuery {
  const newVersion = versionNumber(sql`EXCLUDED.version_id`);
  const oldVersion = versionNumber(sql`t.version_id`);
  return sql`CASE
    WHEN (EXCLUDED.last_updated IS NULL) <> (t.last_updated IS NULL) THEN EXCLUDED.last_updated IS NOT NULL
    WHEN EXCLUDED.last_updated <> t.last_updated THEN EXCLUDED.last_updated > t.last_updated
    WHEN (${newVersion} IS NULL) <> (${oldVersion} IS NULL) THEN ${newVersion} IS NOT NULL
    WHEN ${newVersion} <> ${oldVersion} THEN ${newVersion} > ${oldVersion}
    ELSE true
  END`;
}

/**
 * Accumulates the COPY text of a batch: staged rows for the staging table, and per type the
 * rows bound straight for fhir_raw. A row's common part (`id, version_id, last_updated,
 * resource`) is encoded once; a staged row ends with its line and type, a direct one with the
 * file's source and run id.
 */
class RawBatch {
  // Sized for a whole batch up front: growing by doubling left ~2x the batch in dead buffers
  // for the garbage collector (+25 MB peak RSS on the 1 GB file). Pages never written are
  // never resident, and the staging buffer is made only when a row is staged.
  #staged: CopyBuffer | undefined;
  #direct = new Map<string, DirectRows>();
  #directBytes = 0;
  readonly #file: FileToLoad;
  readonly #limit: number;
  readonly #directLimit: number;

  constructor(file: FileToLoad, limit: number, directLimit: number) {
    this.#file = file;
    this.#limit = limit;
    this.#directLimit = directLimit;
  }

  get full(): boolean {
    return (this.#staged?.length ?? 0) >= this.#limit || this.#directBytes >= this.#directLimit;
  }

  addStaged(record: ResourceRecord): void {
    this.#staged ??= new CopyBuffer(this.#limit + BATCH_SLACK);
    this.#staged.append(`${encodeCommon(record)}\t${record.line}\t${record.resourceType}\n`);
  }

  addDirect(record: ResourceRecord): void {
    let rows = this.#direct.get(record.resourceType);
    if (!rows) {
      rows = new DirectRows(this.#file, record.resourceType, this.#directLimit + BATCH_SLACK);
      this.#direct.set(record.resourceType, rows);
    }
    this.#directBytes += rows.add(record);
  }

  take(): { staged: CopyBuffer; direct: Map<string, DirectRows> } {
    const taken = { staged: this.#staged ?? new CopyBuffer(BATCH_SLACK), direct: this.#direct };
    this.#staged = undefined;
    this.#direct = new Map();
    this.#directBytes = 0;
    return taken;
  }
}

/** Room past a batch's limit for the row that crosses it. */
const BATCH_SLACK = 256 << 10;

/** One batch of one type's rows bound straight for fhir_raw: COPY text for (id, version_id, last_updated, resource, source, run_id). */
class DirectRows {
  readonly #rows: CopyBuffer;
  /** Where each row ends in #rows, and its line, to turn the rows into staged ones. */
  readonly #ends: number[] = [];
  readonly #lines: number[] = [];
  readonly #tail: string;
  readonly #tailBytes: number;
  readonly #resourceType: string;
  xmin: string | undefined;
  firstId = '';

  constructor(file: FileToLoad, resourceType: string, capacity: number) {
    this.#rows = new CopyBuffer(capacity);
    this.#tail = `\t${escapeCopyText(file.source)}\t${file.runId}\n`;
    this.#tailBytes = Buffer.byteLength(this.#tail);
    this.#resourceType = resourceType;
  }

  get count(): number {
    return this.#ends.length;
  }

  /** Adds a row; returns the bytes it took. */
  add(record: ResourceRecord): number {
    if (this.#ends.length === 0) this.firstId = record.id;
    const before = this.#rows.length;
    this.#rows.append(encodeCommon(record) + this.#tail);
    this.#ends.push(this.#rows.length);
    this.#lines.push(record.line);
    return this.#rows.length - before;
  }

  payload(): Buffer {
    return this.#rows.contents();
  }

  landedIn(xmin: string): void {
    this.xmin = xmin;
  }

  /** Appends the same rows as staging-table rows, for when the direct copy was refused. */
  stageInto(staged: CopyBuffer): void {
    const bytes = this.#rows.contents();
    let start = 0;
    for (let i = 0; i < this.#ends.length; i++) {
      const end = this.#ends[i] as number;
      staged.appendBytes(bytes.subarray(start, end - this.#tailBytes));
      staged.append(`\t${this.#lines[i] as number}\t${this.#resourceType}\n`);
      start = end;
    }
  }
}

function encodeCommon(record: ResourceRecord): string {
  return `${escapeCopyText(record.id)}\t${
    record.versionId === null ? COPY_NULL : escapeCopyText(record.versionId)
  }\t${record.lastUpdated ?? COPY_NULL}\t${escapeCopyText(record.text)}`;
}

/**
 * Tells whether a file repeats an id within a type, so the merge can skip the sort that
 * picks the newest copy when (as in nearly every export) it does not. Ids are kept as 52-bit
 * hashes to bound memory: a collision only costs the slower, still correct, path.
 */
class DuplicateDetector {
  #seen = new Map<string, Set<number>>();
  #duplicated = new Set<string>();

  /** Records an id; true when the type has repeated some id (this one or an earlier one). */
  see(resourceType: string, id: string): boolean {
    if (this.#duplicated.has(resourceType)) return true;
    let ids = this.#seen.get(resourceType);
    if (!ids) {
      ids = new Set();
      this.#seen.set(resourceType, ids);
    }
    const hash = hash52(id);
    if (ids.has(hash)) {
      this.#duplicated.add(resourceType);
      this.#seen.delete(resourceType);
      return true;
    }
    ids.add(hash);
    return false;
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
