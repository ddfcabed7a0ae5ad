import { type SQLQuery, sql } from '@databases/pg';
import type { LoadTransaction } from '../postgres/load-transaction.ts';
import type { CopyBuffer } from '../postgres/copy-buffer.ts';
import { directLockKey } from './direct-copy.ts';
import { rawTableName } from './raw-tables.ts';
import { copyFields, type StagedCopy } from './safety-net.ts';
import type { FileToLoad } from './types.ts';
import { queryRow } from '../postgres/query-row.ts';

/** The temporary table a file's staged rows of every type are COPYed into before the merge. */
const STAGE = 'fhir_etl_stage_raw';

/**
 * Creates the staging table, on the file's first staged batch. `resource` is jsonb so that a
 * resource PostgreSQL cannot store is refused by the COPY, where the safety net finds it,
 * rather than by the merge.
 */
export async function createRawStage(tx: LoadTransaction): Promise<void> {
  await tx.query(sql`
    CREATE TEMP TABLE ${sql.ident(STAGE)} (
      id text, version_id text, last_updated timestamptz, resource jsonb, seq integer, resource_type text
    ) ON COMMIT DROP`);
}

/** The COPY of a batch of staged rows (see RawBatch.addStaged) into the staging table. */
export function stagedRawCopy(rows: CopyBuffer): StagedCopy {
  return {
    statement: `COPY ${STAGE} FROM STDIN`,
    payload: rows.contents(),
    refused(row, error) {
      const [id, , , resource, seq, resourceType] = copyFields(row);
      return {
        ok: false,
        line: Number(seq),
        resourceType: resourceType ?? undefined,
        id: id ?? undefined,
        reason: `PostgreSQL refused the resource: ${error.message} (it is not in fhir_raw)`,
        text: resource ?? '',
      };
    },
  };
}

/** What a type's merge did; `ownReplaced`: stored rows this same file had copied directly and replaced. */
export interface MergeCounts {
  inserted: number;
  updated: number;
  ownReplaced: number;
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
 * each other's rows: PostgreSQL then breaks the deadlock, the victim rolls back whole (40P01)
 * and is loaded again (see loadFile).
 */
export async function lockForMerge(
  tx: LoadTransaction,
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

/**
 * Merges the staged copies of one type into fhir_raw and records which resources changed in
 * fhir_etl_changed (for the view tables). When the file holds the same id twice, the newest
 * copy (then the last line) is the one merged. A stored row written by this file's direct
 * path (its xmin is one of `ownXmins`) is an earlier line of the same file, so the same rule
 * decides, not fhir_etl.supersedes; such replacements are counted apart (`ownReplaced`).
 */
export async function mergeType(
  tx: LoadTransaction,
  file: FileToLoad,
  resourceType: string,
  hasDuplicates: boolean,
  ownXmins: Set<string>,
): Promise<MergeCounts> {
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
  const row = await queryRow<{ inserted: number; updated: number; own_replaced: number }>(
    tx,
    sql`
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
    FROM merged`,
  );
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
