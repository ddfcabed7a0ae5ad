import { sql } from '@databases/pg';
import type { SqlQueryable } from '../loaders/postgres/load-transaction.ts';

/**
 * fhir_etl.checkpoints: one value per (source, scope), written in the transaction of the data
 * it describes (the bulk watermark with an export's last file, a REST cursor with a search's
 * last page), so a checkpoint is never ahead of what committed.
 */
export interface CheckpointWrite {
  scope: string;
  value: string;
}

/**
 * Upserts checkpoints of a source. `forwardOnly`: a value that is an instant replaces the
 * stored one only when later (another run may already have moved it further).
 */
export async function saveCheckpoints(
  db: SqlQueryable,
  checkpoint: { source: string; runId: number; forwardOnly?: boolean },
  writes: CheckpointWrite[],
): Promise<void> {
  if (writes.length === 0) return;
  const rows = writes.map(
    (w) => sql`(${checkpoint.source}, ${w.scope}, ${w.value}, ${checkpoint.runId}, now())`,
  );
  await db.query(sql`
    INSERT INTO fhir_etl.checkpoints (source, scope, value, run_id, updated_at)
    VALUES ${sql.join(rows, ', ')}
    ON CONFLICT (source, scope) DO UPDATE SET value = EXCLUDED.value, run_id = EXCLUDED.run_id, updated_at = now()
    ${checkpoint.forwardOnly ? sql`WHERE fhir_etl.checkpoints.value::timestamptz < EXCLUDED.value::timestamptz` : sql``}`);
}

export async function dropCheckpoint(db: SqlQueryable, source: string, scope: string): Promise<void> {
  await db.query(sql`DELETE FROM fhir_etl.checkpoints WHERE source = ${source} AND scope = ${scope}`);
}
