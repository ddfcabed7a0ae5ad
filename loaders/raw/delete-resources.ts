import { type ConnectionPool, sql } from '@databases/pg';
import type { SqlQueryable } from '../postgres/load-transaction.ts';
import { deleteViewRows } from '../views/delete-rows.ts';
import type { ViewTable } from '../views/view-tables.ts';
import { type FileRecord, loadExactlyOnce } from './exactly-once.ts';
import type { FileToLoad, RejectRecord } from './types.ts';
import { rawTableName } from './raw-tables.ts';
import { insertRejects } from './rejects.ts';
import { queryRows } from '../postgres/query-rows.ts';
import { queryRow } from '../postgres/query-row.ts';

/** A resource a source says no longer exists (a Bulk Data `deleted` entry, a REST tombstone). */
export interface ResourceReference {
  resourceType: string;
  id: string;
  /** When the source deleted it (an instant), if it said; else DeleteFileOptions.deletedAsOf. */
  deletedAt?: string;
}

export interface DeleteFileResult {
  status: 'loaded' | 'already-loaded';
  /** References read (entries of the file). */
  references: number;
  /** fhir_raw rows newly marked deleted, per type. */
  deleted: Record<string, number>;
  /** View rows removed, per view. */
  viewRows: Record<string, number>;
  /** Lines of the file that could not be read (see DeleteFileOptions.rejects). */
  rejects: number;
  bytes: number;
}

export interface DeleteFileOptions {
  /** The view tables whose rows of a deleted resource are removed. */
  viewTables: ViewTable[];
  bytesRead?: () => number;
  /**
   * The lines of the file that could not be read, asked for once every batch is read: `kept`
   * go to fhir_etl.rejects, and `count` (which may be more than were kept) is the file's rejects.
   */
  rejects?: () => { kept: RejectRecord[]; count: number };
  /** Runs last inside the file's transaction (a connector's checkpoint). */
  beforeCommit?: (tx: SqlQueryable, result: DeleteFileResult) => Promise<void>;
  /**
   * When deletions that carry no date of their own happened, at the latest (a Bulk export's
   * transactionTime). A stored copy whose meta.lastUpdated is later than a deletion's date was
   * written after it and stays; one without lastUpdated, or not later, is deleted.
   */
  deletedAsOf?: string;
}

/**
 * Applies a file of deletions exactly once: the resources' rows leave the view tables, their
 * fhir_raw rows are marked `deleted` (kept as tombstones: a later copy with a newer
 * lastUpdated revives them through the ordinary merge), and the file's fhir_etl.files record
 * commits with them. References arrive in batches so a large file is never held whole.
 */
export async function deleteResources(
  db: ConnectionPool,
  file: FileToLoad,
  batches: AsyncIterable<ResourceReference[]>,
  options: DeleteFileOptions,
): Promise<DeleteFileResult> {
  return loadExactlyOnce(
    db,
    file,
    {
      action: 'apply the deletions in',
      alreadyLoaded: () => ({
        status: 'already-loaded',
        references: 0,
        deleted: {},
        viewRows: {},
        rejects: 0,
        bytes: 0,
      }),
      beforeCommit: options.beforeCommit,
    },
    (tx) => deleteInTransaction(tx, file, batches, options),
  );
}

async function deleteInTransaction(
  tx: SqlQueryable,
  file: FileToLoad,
  batches: AsyncIterable<ResourceReference[]>,
  options: DeleteFileOptions,
): Promise<{ result: DeleteFileResult; record: FileRecord }> {
  await tx.query(
    sql`CREATE TEMP TABLE fhir_etl_deleted (resource_type text, id text, deleted_at timestamptz) ON COMMIT DROP`,
  );
  let references = 0;
  for await (const batch of batches) {
    if (batch.length === 0) continue;
    references += batch.length;
    await tx.query(sql`
      INSERT INTO fhir_etl_deleted (resource_type, id, deleted_at)
      SELECT r.resource_type, r.id, coalesce(r.deleted_at, ${options.deletedAsOf ?? null}::timestamptz)
      FROM unnest(${batch.map((r) => r.resourceType)}::text[], ${batch.map((r) => r.id)}::text[],
                  ${batch.map((r) => r.deletedAt ?? null)}::timestamptz[]) AS r(resource_type, id, deleted_at)`);
  }
  const types = await typesWithRawTables(tx);
  const deleted: Record<string, number> = {};
  for (const type of types) {
    await keepNewerCopies(tx, file, type);
    deleted[type] = await markRawDeleted(tx, file, type);
  }
  const viewRows = await deleteViewRows(tx, options.viewTables, file.source, types);
  const unreadable = options.rejects?.() ?? { kept: [], count: 0 };
  await insertRejects(tx, file, unreadable.kept);
  const bytes = options.bytesRead?.() ?? 0;
  const marked = Object.values(deleted).reduce((sum, n) => sum + n, 0);
  return {
    result: { status: 'loaded', references, deleted, viewRows, rejects: unreadable.count, bytes },
    record: { bytes, lines: references, resources: marked, rejects: unreadable.count, counts: { deleted } },
  };
}

/** The deleted types that have a fhir_raw table: a type never loaded has nothing to delete. */
async function typesWithRawTables(tx: SqlQueryable): Promise<string[]> {
  const rows: Array<{ resource_type: string }> = await queryRows(
    tx,
    sql`
    SELECT DISTINCT d.resource_type FROM fhir_etl_deleted d
    JOIN fhir_etl.raw_tables r ON r.resource_type = d.resource_type`,
  );
  return rows.map((row) => row.resource_type);
}

/**
 * Takes off the list the deletions of resources whose stored copy is later (by meta.lastUpdated)
 * than the deletion's date: that copy was written after the deletion (the id was created
 * again) and stays, in fhir_raw and in the view tables. A copy without lastUpdated, or a
 * deletion without a date, cannot be ordered: the deletion applies.
 */
async function keepNewerCopies(tx: SqlQueryable, file: FileToLoad, resourceType: string): Promise<void> {
  await tx.query(sql`
    DELETE FROM fhir_etl_deleted d USING ${sql.ident('fhir_raw', rawTableName(resourceType))} t
    WHERE d.resource_type = ${resourceType} AND t.source = ${file.source} AND t.id = d.id
      AND t.last_updated > d.deleted_at`);
}

async function markRawDeleted(tx: SqlQueryable, file: FileToLoad, resourceType: string): Promise<number> {
  const row = await queryRow<{ rows: number }>(
    tx,
    sql`
    WITH marked AS (
      UPDATE ${sql.ident('fhir_raw', rawTableName(resourceType))} t SET deleted = true, run_id = ${file.runId}
      FROM fhir_etl_deleted d
      WHERE d.resource_type = ${resourceType} AND t.source = ${file.source} AND t.id = d.id AND NOT t.deleted
      RETURNING 1
    )
    SELECT count(*)::int AS rows FROM marked`,
  );
  return row.rows;
}
