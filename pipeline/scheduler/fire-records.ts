import { type ConnectionPool, sql } from '@databases/pg';
import { queryRows } from '../../loaders/postgres/query-rows.ts';

/** How a fire ended, as recorded in fhir_etl.schedule_fires.outcome. */
export type FireOutcome = 'succeeded' | 'failed' | 'skipped-overlap' | 'stopped';

/** A fire claimed by another replica and not seen again after this long is taken for dead. */
const CLAIM_TIMEOUT_SECONDS = 300;

/**
 * Claims a fire for this replica: the first replica to insert (source, fire_at) runs it, the
 * others find the row there and let it go. Returns the fire's id, or undefined when taken.
 */
export async function claimFire(
  db: ConnectionPool,
  fire: { source: string; fireAt: Date; replica: string },
): Promise<number | undefined> {
  const [row]: Array<{ id: number }> = await queryRows(
    db,
    sql`
    INSERT INTO fhir_etl.schedule_fires (source, fire_at, replica)
    VALUES (${fire.source}, ${fire.fireAt}, ${fire.replica})
    ON CONFLICT (source, fire_at) DO NOTHING
    RETURNING id`,
  );
  return row?.id;
}

/**
 * Marks the fire running, called while holding the source's lock. Holding it proves that no
 * earlier fire of the source is still going, so any left 'running' belonged to a replica that
 * died mid-run: they are closed as abandoned here (their committed files stay; this fire
 * goes on from them).
 */
export async function takeSource(db: ConnectionPool, fireId: number, source: string): Promise<void> {
  await db.tx(async (tx) => {
    await tx.query(sql`
      UPDATE fhir_etl.schedule_fires
      SET outcome = 'abandoned', finished_at = clock_timestamp(),
          error = 'the replica running it stopped without finishing (killed or crashed)'
      WHERE source = ${source} AND id <> ${fireId}
        AND (outcome = 'running'
             OR (outcome = 'claimed' AND claimed_at < clock_timestamp() - make_interval(secs => ${CLAIM_TIMEOUT_SECONDS})))`);
    await tx.query(sql`UPDATE fhir_etl.schedule_fires SET outcome = 'running' WHERE id = ${fireId}`);
  });
}

/** Records how the fire ended and how many runs it took. */
export async function finishFire(
  db: ConnectionPool,
  fireId: number,
  end: { outcome: FireOutcome; attempts: number; error?: string | undefined },
): Promise<void> {
  await db.query(sql`
    UPDATE fhir_etl.schedule_fires
    SET outcome = ${end.outcome}, attempts = ${end.attempts}, finished_at = clock_timestamp(),
        error = ${end.error ?? null}
    WHERE id = ${fireId}`);
}
