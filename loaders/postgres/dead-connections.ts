import type { ConnectionPool } from '@databases/pg';

/**
 * SQLSTATEs of a session PostgreSQL ended: 57P01 admin_shutdown (pg_terminate_backend, a fast
 * shutdown), 57P02 crash_shutdown, and class 08 connection exceptions other than a connection
 * that could not be made (08001, 08004: that is no dead connection but an unreachable server).
 * @see PostgreSQL 15 errcodes-appendix
 */
const SESSION_ENDED = /^(57P0[12]|08(000|003|006|007|P01))$/;

/** What node-postgres says of a socket that went away under a client. */
const SOCKET_GONE = /Connection terminated|not queryable|Connection ended unexpectedly/i;

/**
 * Whether `error` says the connection it came from is dead: PostgreSQL ended the session, or
 * the socket went away. Only errors of node-postgres and PostgreSQL are judged (an SQLSTATE
 * comes with a `severity`; node-postgres' own socket errors by their message).
 */
export function isDeadConnection(error: unknown): boolean {
  const e = error as { code?: unknown; severity?: unknown; message?: unknown } | null;
  if (e === null || typeof e !== 'object') return false;
  if (typeof e.code === 'string' && typeof e.severity === 'string' && SESSION_ENDED.test(e.code)) return true;
  return typeof e.message === 'string' && SOCKET_GONE.test(e.message);
}

/** More dead connections than this in a row is no pool of killed idle connections any more. */
export const MAX_REPLACEMENTS = 8;

/**
 * Makes `db.tx` replace a pooled connection found dead before its transaction began, and go
 * on with a fresh one: an idle connection whose backend was terminated (pg_terminate_backend,
 * an idle-session timeout, a proxy's idle timeout) stays in the pool until node-postgres reads
 * the server's goodbye, and a transaction that takes it in between fails on BEGIN. Nothing of
 * the transaction's work had run (its callback never started), so starting it again on another
 * connection is safe; the dead connection is discarded by the pool. A failure once the
 * callback has started is the caller's, as before.
 *
 * `db.query` and `db.task` are left as they are: a statement that fails on a dead connection
 * may or may not have run, and only its caller can tell whether running it again is safe.
 */
export function replacingDeadConnections(
  db: ConnectionPool,
  onReplaced?: (error: unknown) => void,
): ConnectionPool {
  const tx = db.tx.bind(db);
  const replacing: ConnectionPool['tx'] = async (fn, options) => {
    for (let replaced = 0; ; replaced++) {
      let began = false;
      try {
        return await tx((transaction) => {
          began = true;
          return fn(transaction);
        }, options);
      } catch (error) {
        if (began || replaced >= MAX_REPLACEMENTS || !isDeadConnection(error)) throw error;
        onReplaced?.(error);
      }
    }
  };
  db.tx = replacing;
  return db;
}
