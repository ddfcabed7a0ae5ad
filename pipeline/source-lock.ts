import { type ConnectionPool, sql } from '@databases/pg';
import type { Logger } from 'pino';
import { errorMessage, FhirEtlError } from '../errors/index.ts';
import { queryRows } from '../loaders/postgres/query-rows.ts';
import { queryRow } from '../loaders/postgres/query-row.ts';

/** The first key of the two-key advisory lock space; the loaders use the one-key (bigint) space. */
const SOURCE_RUN_LOCKS = 74_110_100;

/** How often a held source lock is checked, like the runs' heartbeat. */
export const SOURCE_LOCK_CHECK_MS = 15_000;

export type SourceLockResult<T> = { acquired: true; value: T } | { acquired: false };

/** The source's lock, as the work running under it sees it. */
export interface SourceLock {
  /**
   * Aborted, with a SourceLockLostError as its reason, once the lock is found lost (its
   * connection died: a failover, an idle timeout, a terminated backend). Pass it to the run
   * so it stops between files: the files in flight commit or roll back whole.
   */
  readonly signal: AbortSignal;
  /** Checks now that the lock is still held; throws SourceLockLostError (and aborts `signal`) when not. */
  verify(): Promise<void>;
}

export interface SourceLockOptions {
  /** Where a lost lock and a failed unlock are logged. */
  logger?: Logger | undefined;
  /** How often the lock is checked while `work` runs (default SOURCE_LOCK_CHECK_MS). */
  checkEveryMs?: number | undefined;
}

/**
 * Runs `work` while holding a session-level advisory lock on the source, or not at all when
 * another session (this replica or another) holds it: a source never runs twice at once.
 *
 * The lock lives on one connection kept for the whole run, so it dies with the connection:
 * a replica that is killed, or loses the network, lets the source go without anyone
 * cleaning up. The other way round, a live process whose lock connection dies has lost the
 * source to whoever takes it next, so the connection is checked every `checkEveryMs` (and on
 * `verify()`): once the lock is gone, `lock.signal` aborts and the work must stop. An unlock
 * that fails at the end (the connection is gone, and the lock with it) is logged, never
 * thrown over the work's result. Sources are keyed by hashtext(name); two names that
 * collide would only serialise each other, never run at once.
 */
export async function withSourceLock<T>(
  db: ConnectionPool,
  source: string,
  work: (lock: SourceLock) => Promise<T>,
  options: SourceLockOptions = {},
): Promise<SourceLockResult<T>> {
  return db.task(async (connection) => {
    const { locked } = await queryRow<{ locked: boolean }>(
      connection,
      sql`SELECT pg_try_advisory_lock(${SOURCE_RUN_LOCKS}, hashtext(${source})) AS locked`,
    );
    if (!locked) return { acquired: false };
    const controller = new AbortController();
    let checking: Promise<void> | undefined;
    const check = async (): Promise<void> => {
      if (controller.signal.aborted) throw controller.signal.reason;
      let held = false;
      let cause: unknown;
      try {
        // The two-key lock shows in pg_locks as classid = key 1, objid = key 2, objsubid = 2.
        const [row]: Array<{ held: boolean }> = await queryRows(
          connection,
          sql`
          SELECT EXISTS (
            SELECT 1 FROM pg_locks
            WHERE locktype = 'advisory' AND classid = ${SOURCE_RUN_LOCKS}::int::oid
              AND objid = hashtext(${source})::oid AND objsubid = 2
              AND pid = pg_backend_pid() AND granted) AS held`,
        );
        held = row?.held === true;
      } catch (error) {
        cause = error;
      }
      if (held) return;
      if (controller.signal.aborted) throw controller.signal.reason;
      const lost = new SourceLockLostError(source, cause);
      options.logger?.error({ event: 'source_lock.lost', source, error: lost.message }, lost.message);
      controller.abort(lost);
      throw lost;
    };
    // One check at a time on the connection; a verify() during a periodic check shares it.
    const verify = (): Promise<void> => {
      checking ??= check().finally(() => {
        checking = undefined;
      });
      return checking;
    };
    const timer = setInterval(() => {
      verify().catch(() => undefined);
    }, options.checkEveryMs ?? SOURCE_LOCK_CHECK_MS);
    timer.unref();
    try {
      return { acquired: true, value: await work({ signal: controller.signal, verify }) };
    } finally {
      clearInterval(timer);
      await checking?.catch(() => undefined);
      try {
        await connection.query(sql`SELECT pg_advisory_unlock(${SOURCE_RUN_LOCKS}, hashtext(${source}))`);
      } catch (error) {
        // The connection is gone, and the session lock went with it: nothing left to release.
        options.logger?.warn(
          { event: 'source_lock.unlock_failed', source, error: errorMessage(error) },
          `could not release the lock on source ${source} (its connection is gone, and the lock with it): ${errorMessage(error)}`,
        );
      }
    }
  });
}

/** The lock on a source was lost while its run went on: another process may run the source now. */
export class SourceLockLostError extends FhirEtlError {
  constructor(source: string, cause?: unknown) {
    super(
      `lost the source lock on ${source} (its database connection ${
        cause === undefined ? 'no longer holds it' : `failed: ${errorMessage(cause)}`
      }); the run stops so that it never runs beside another run of the source`,
      { code: 'SOURCE_LOCK_LOST', context: { source }, cause },
    );
  }
}

/** True when `error` (or an abort signal's reason) is a lost source lock. */
export function isSourceLockLost(error: unknown): error is SourceLockLostError {
  return error instanceof SourceLockLostError;
}

/** `reason` first, then what the run said (once, however often the two are combined). */
export function leadWith(reason: string, error: string | undefined): string {
  return error?.startsWith(reason) ? error : [reason, error].filter(Boolean).join('\n');
}
