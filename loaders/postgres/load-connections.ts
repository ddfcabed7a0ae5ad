import type { ConnectionPool } from '@databases/pg';
import pg from 'pg';
import { LoadError } from '../errors.ts';
import { isDeadConnection, MAX_REPLACEMENTS } from './dead-connections.ts';
import { LoadTransaction } from './load-transaction.ts';

/** pg_type.oid of `int8` and `date`. */
const INT8_OID = 20;
const DATE_OID = 1082;

/**
 * Values read in a load transaction come back as the warehouse's @databases/pg pool gives
 * them (see connect.ts), so a helper reads the same row whichever connection it was handed:
 * int8 a number, `date` its text (a calendar date, never a Date at some local midnight).
 */
const warehouseTypes: pg.CustomTypesConfig = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (format !== 'binary' && oid === INT8_OID) return (text: string) => Number.parseInt(text, 10);
    if (format !== 'binary' && oid === DATE_OID) return (text: string) => text;
    return pg.types.getTypeParser(oid, format) as (value: string) => unknown;
  },
};

interface LoadConnections {
  pool: pg.Pool;
  /** Told of each dead connection replaced before its transaction began (tests count them). */
  onReplaced: ((error: unknown) => void) | undefined;
}

/** The load connections of each warehouse pool openWarehouse opened. */
const loadPools = new WeakMap<ConnectionPool, LoadConnections>();

/**
 * Gives a warehouse pool its load connections: a node-postgres pool of the same size on the
 * same server, for the transactions that COPY (see LoadTransaction). The two pools share no
 * connection, so their sizes add up only while both are busy; an idle load connection closes
 * after 10 s and never keeps the process alive. Disposing of `db` ends them too.
 */
export function withLoadConnections(
  db: ConnectionPool,
  connectionString: string,
  size: number,
  onReplaced?: (error: unknown) => void,
): ConnectionPool {
  const pool = new pg.Pool({
    connectionString,
    max: size,
    types: warehouseTypes,
    idleTimeoutMillis: 10_000,
    allowExitOnIdle: true,
  });
  // An idle connection the server ends is dropped by the pool; the next load opens another.
  pool.on('error', () => undefined);
  loadPools.set(db, { pool, onReplaced });
  const dispose = db.dispose.bind(db);
  db.dispose = async () => {
    await Promise.all([pool.end(), dispose()]);
  };
  return db;
}

/**
 * Runs `body` in one transaction on a load connection of `db`: committed when it returns,
 * rolled back when it throws (and the error rethrown as it was). A pooled connection found
 * dead before the body started (a backend ended while idle) is discarded and the
 * transaction begun again on another, as the warehouse's `db.tx` does (dead-connections.ts);
 * once the body has started, a failure is the caller's to judge.
 */
export async function loadTransaction<T>(
  db: ConnectionPool,
  body: (tx: LoadTransaction) => Promise<T>,
): Promise<T> {
  const connections = loadPools.get(db);
  if (connections === undefined) {
    throw new LoadError('loads need a warehouse opened by openWarehouse (its load connections)', {});
  }
  for (let replaced = 0; ; replaced++) {
    const attempt = await attemptTransaction(connections.pool, body);
    if (attempt.done) return attempt.value;
    if (replaced >= MAX_REPLACEMENTS) throw attempt.deadOnBegin;
    connections.onReplaced?.(attempt.deadOnBegin);
  }
}

type Attempt<T> = { done: true; value: T } | { done: false; deadOnBegin: unknown };

async function attemptTransaction<T>(
  pool: pg.Pool,
  body: (tx: LoadTransaction) => Promise<T>,
): Promise<Attempt<T>> {
  const client = await pool.connect();
  // A checked-out client whose socket fails emits 'error'; its statement fails too, and says so.
  let socketError: unknown;
  const onSocketError = (error: unknown) => (socketError ??= error);
  client.on('error', onSocketError);
  const tx = new LoadTransaction(client);
  let began = false;
  let reusable = true;
  try {
    try {
      await client.query('BEGIN');
    } catch (error) {
      reusable = false;
      if (isDeadConnection(error)) return { done: false, deadOnBegin: error };
      throw error;
    }
    began = true;
    const value = await body(tx);
    await client.query('COMMIT');
    return { done: true, value };
  } catch (error) {
    if (began) reusable = await rolledBack(client);
    throw error;
  } finally {
    tx.close();
    client.removeListener('error', onSocketError);
    client.release(reusable && socketError === undefined ? undefined : true);
  }
}

/** Rolls the transaction back; false when the connection cannot take even that (it is discarded). */
async function rolledBack(client: pg.PoolClient): Promise<boolean> {
  try {
    await client.query('ROLLBACK');
    return true;
  } catch {
    return false;
  }
}
