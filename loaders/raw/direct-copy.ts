import { type SQLQuery, sql } from '@databases/pg';
import type { LoadTransaction } from '../postgres/load-transaction.ts';
import type { TargetBatch } from './load-target.ts';
import type { DirectRows } from './raw-batch.ts';
import { rawTableName } from './raw-tables.ts';
import { isRowDataError } from './safety-net.ts';
import type { FileToLoad } from './types.ts';
import { queryRow } from '../postgres/query-row.ts';

/** Errors that mean "this id is taken" (or a wait on a concurrent loader of it was broken). */
const ID_TAKEN = new Set(['23505', '40P01']);

/**
 * Whether a type may take the direct path: this file must be the only one writing the
 * source's rows of the type until it commits (an exclusive advisory lock, tried, never waited
 * for; staged merges take it shared), and the source must have no row of the type yet, not
 * even a deleted one. Two loads of one type then do not, as a rule, hold rows the other
 * needs: the second stages its rows, and its merge waits for the first to commit.
 * `locked`: the exclusive lock was granted (and is held until commit, even when `direct` is
 * false because the type has rows after all).
 */
export async function mayCopyDirect(
  tx: LoadTransaction,
  file: FileToLoad,
  table: string,
): Promise<{ locked: boolean; direct: boolean }> {
  const hasRows = sql`EXISTS (SELECT 1 FROM ${sql.ident('fhir_raw', table)} WHERE source = ${file.source})`;
  // A reload keeps off the lock, which would hold up the other files' merges of the type.
  const before = await queryRow<{ found: boolean }>(tx, sql`SELECT ${hasRows} AS found`);
  if (before.found) return { locked: false, direct: false };
  const row = await queryRow<{ locked: boolean }>(
    tx,
    sql`SELECT pg_try_advisory_xact_lock(${directLockKey(file, table)}) AS locked`,
  );
  if (!row.locked) return { locked: false, direct: false };
  const after = await queryRow<{ found: boolean }>(tx, sql`SELECT ${hasRows} AS found`);
  return { locked: true, direct: !after.found };
}

/**
 * How a direct batch went: `landed`; `taken` (an id is taken: the batch and the rest of the
 * type are staged); `refused` (PostgreSQL refused a row's data: the batch is staged, where the
 * safety net finds the row, see safety-net.ts). Not landed, the savepoint is rolled back.
 */
export type DirectOutcome = 'landed' | 'taken' | 'refused';

/**
 * COPYs one batch of a type straight into fhir_raw (and its view rows into the view tables)
 * inside a savepoint.
 */
export async function copyDirect(
  tx: LoadTransaction,
  file: FileToLoad,
  resourceType: string,
  rows: DirectRows,
  targetBatches: TargetBatch[],
): Promise<DirectOutcome> {
  const table = rawTableName(resourceType);
  await tx.query(sql`SAVEPOINT fhir_etl_direct`);
  try {
    await tx.copyFrom(
      `COPY fhir_raw."${table}" (id, version_id, last_updated, resource, source, run_id) FROM STDIN`,
      rows.payload(),
    );
    for (const t of targetBatches) await t.copyDirect(tx, file, resourceType);
  } catch (error) {
    const taken = ID_TAKEN.has((error as { code?: string }).code ?? '');
    if (!taken && !isRowDataError(error)) throw error;
    await tx.query(sql`ROLLBACK TO SAVEPOINT fhir_etl_direct`);
    await tx.query(sql`RELEASE SAVEPOINT fhir_etl_direct`);
    return taken ? 'taken' : 'refused';
  }
  // The savepoint's transaction id marks the rows this file wrote (see mergeType).
  const row = await queryRow<{ xmin: string }>(
    tx,
    sql`SELECT xmin::text AS xmin FROM ${sql.ident('fhir_raw', table)} WHERE source = ${file.source} AND id = ${rows.firstId}`,
  );
  rows.landedIn(row.xmin);
  await tx.query(sql`RELEASE SAVEPOINT fhir_etl_direct`);
  return 'landed';
}

/** The advisory lock that keeps a type's direct path to one file at a time (per source). */
export function directLockKey(file: FileToLoad, table: string): SQLQuery {
  return sql`hashtextextended(${`fhir_raw|${file.source}|${rawTableName(table)}`}, 0)`;
}
