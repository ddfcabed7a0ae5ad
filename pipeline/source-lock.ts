import { type ConnectionPool, sql } from '@databases/pg';

/** The first key of the two-key advisory lock space; the loaders use the one-key (bigint) space. */
const SOURCE_RUN_LOCKS = 74_110_100;

export type SourceLockResult<T> = { acquired: true; value: T } | { acquired: false };

/**
 * Runs `work` while holding a session-level advisory lock on the source, or not at all when
 * another session (this replica or another) holds it: a source never runs twice at once.
 *
 * The lock lives on one connection kept for the whole run, so it dies with the connection:
 * a replica that is killed, or loses the network, lets the source go without anyone
 * cleaning up. Sources are keyed by hashtext(name); two names that collide would only
 * serialise each other, never run at once.
 */
export async function withSourceLock<T>(
  db: ConnectionPool,
  source: string,
  work: () => Promise<T>,
): Promise<SourceLockResult<T>> {
  return db.task(async (connection) => {
    const [{ locked }] = await connection.query(
      sql`SELECT pg_try_advisory_lock(${SOURCE_RUN_LOCKS}, hashtext(${source})) AS locked`,
    );
    if (!locked) return { acquired: false };
    try {
      return { acquired: true, value: await work() };
    } finally {
      await connection.query(sql`SELECT pg_advisory_unlock(${SOURCE_RUN_LOCKS}, hashtext(${source}))`);
    }
  });
}
