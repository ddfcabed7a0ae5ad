import { type ConnectionPool, sql, type Transaction } from '@databases/pg';

/** The checkpoint scope of a Bulk Data source: the transactionTime of its last complete export. */
export const TRANSACTION_TIME_SCOPE = 'bulk:transactionTime';

export async function readTransactionTime(db: ConnectionPool, source: string): Promise<string | undefined> {
  const [row] = await db.query(
    sql`SELECT value FROM fhir_etl.checkpoints WHERE source = ${source} AND scope = ${TRANSACTION_TIME_SCOPE}`,
  );
  return row?.value;
}

/**
 * Advances the watermark; called inside the transaction of the export's last file, so the
 * checkpoint can never be ahead of the data it describes.
 */
export async function writeTransactionTime(
  tx: Transaction | ConnectionPool,
  source: string,
  transactionTime: string,
  runId: number,
): Promise<void> {
  await tx.query(sql`
    INSERT INTO fhir_etl.checkpoints (source, scope, value, run_id) VALUES (${source}, ${TRANSACTION_TIME_SCOPE}, ${transactionTime}, ${runId})
    ON CONFLICT (source, scope) DO UPDATE SET value = EXCLUDED.value, run_id = EXCLUDED.run_id, updated_at = now()`);
}
