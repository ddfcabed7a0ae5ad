import { type ConnectionPool, sql } from '@databases/pg';
import { errorMessage } from '../../errors/index.ts';

/**
 * The warehouse itself failing a run, rather than one file's data: it stopped answering (the
 * server stopped, crashed, restarted, or the network to it went), or its disk is full. Every
 * further file would fail the same way, so a load stops starting files and says so once.
 */
export interface WarehouseFault {
  kind: 'unreachable' | 'disk-full';
  /** What PostgreSQL or the connection said, e.g. `connect ECONNREFUSED 127.0.0.1:5432`. */
  reason: string;
}

/**
 * Whether `error` (a failed file, a failed statement) came from the warehouse itself: its disk
 * is full (seen in the error), or it does not answer now (asked: a connection error in a
 * file's cause chain may as well be an HTTP download's, so the warehouse is probed instead).
 */
export async function warehouseFault(
  db: ConnectionPool,
  error: unknown,
): Promise<WarehouseFault | undefined> {
  const diskFull = diskFullError(error);
  if (diskFull) return { kind: 'disk-full', reason: diskFull };
  const unanswered = await probeWarehouse(db);
  return unanswered === undefined ? undefined : { kind: 'unreachable', reason: errorMessage(unanswered) };
}

/** `SELECT 1` on the warehouse: undefined when it answers, else the error it failed with. */
export async function probeWarehouse(db: ConnectionPool): Promise<unknown> {
  try {
    await db.query(sql`SELECT 1`);
    return undefined;
  } catch (error) {
    return error;
  }
}

/**
 * PostgreSQL's message when it could not write for lack of space (SQLSTATE 53100 disk_full:
 * `could not extend file "base/16384/16402": No space left on device`), found anywhere in the
 * cause chain; a local ENOSPC too.
 * @see PostgreSQL 15 errcodes-appendix
 */
export function diskFullError(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; current instanceof Object && depth < 8; depth++) {
    const { code, severity, message } = current as { code?: unknown; severity?: unknown; message?: unknown };
    if ((code === '53100' && typeof severity === 'string') || code === 'ENOSPC') return String(message);
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
