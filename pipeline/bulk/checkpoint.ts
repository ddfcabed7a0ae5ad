import { type ConnectionPool, sql } from '@databases/pg';
import type { SqlQueryable } from '../../loaders/postgres/load-transaction.ts';
import { saveCheckpoints } from '../checkpoints.ts';
import { queryRows } from '../../loaders/postgres/query-rows.ts';

/**
 * The checkpoint scope of a Bulk Data source. Its value is the watermark: the next export's
 * `_since` (see exportWatermark). The name predates `_until` and stays, so stored
 * checkpoints keep working.
 */
export const WATERMARK_SCOPE = 'bulk:transactionTime';

/**
 * The scope holding the fingerprint of the parameters the watermark was reached with
 * (exportFingerprint): a watermark only means "everything up to here" for the same types,
 * Group, filters and so on. Written in the same transaction as the watermark.
 */
export const PARAMETERS_SCOPE = 'bulk:parameters';

/** What a complete export commits, in the transaction of its last file. */
export interface ExportCompletion {
  source: string;
  /** The next export's `_since`. */
  watermark: string;
  /** The fingerprint of the parameters the export was kicked off with. */
  fingerprint: string;
  runId: number;
  /** Error-file issues of severity error or fatal keep the watermark where it was (config export.errorIssues). */
  errorIssuesHold: boolean;
}

export interface Checkpoint {
  watermark: string;
  /** Undefined for a checkpoint written before fingerprints existed: taken as matching. */
  fingerprint?: string;
}

export async function readCheckpoint(db: ConnectionPool, source: string): Promise<Checkpoint | undefined> {
  const rows: Array<{ scope: string; value: string }> = await queryRows(
    db,
    sql`
    SELECT scope, value FROM fhir_etl.checkpoints
    WHERE source = ${source} AND scope IN (${WATERMARK_SCOPE}, ${PARAMETERS_SCOPE})`,
  );
  const value = (scope: string) => rows.find((row) => row.scope === scope)?.value;
  const watermark = value(WATERMARK_SCOPE);
  if (watermark === undefined) return undefined;
  const fingerprint = value(PARAMETERS_SCOPE);
  return fingerprint === undefined ? { watermark } : { watermark, fingerprint };
}

/**
 * Advances the watermark and records its parameters' fingerprint; called inside the
 * transaction of the export's last file, so the checkpoint can never be ahead of the data it
 * describes.
 */
export async function writeWatermark(tx: SqlQueryable, completion: ExportCompletion): Promise<void> {
  const { source, watermark, fingerprint, runId } = completion;
  await saveCheckpoints(tx, { source, runId }, [
    { scope: WATERMARK_SCOPE, value: watermark },
    { scope: PARAMETERS_SCOPE, value: fingerprint },
  ]);
}

/**
 * What a complete export leaves as the next `_since`: its `_until` when it was bounded, else
 * the manifest's transactionTime (the server's clock, never ours). An `_until` later than the
 * transactionTime cannot cover changes the server had not yet seen, so the earlier of the two
 * wins; a server that ignored `_until` then only costs an overlap, which the upsert absorbs.
 *
 * @see Bulk Data STU3 export.html#query-parameters (`_until`)
 * @see Bulk Data STU2 export.html#response---complete-status (transactionTime)
 */
export function exportWatermark(transactionTime: string, until: string | null | undefined): string {
  if (until === null || until === undefined) return transactionTime;
  return Date.parse(until) < Date.parse(transactionTime) ? until : transactionTime;
}
