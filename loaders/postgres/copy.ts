import type { Transaction } from '@databases/pg';
import type { ClientBase } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { LoadError } from '../errors.ts';

/**
 * Streams COPY text into a table inside an open @databases/pg transaction.
 *
 * @databases/pg has no COPY API, so this reaches the transaction's node-postgres client (the
 * driver keeps it as `client`) and runs pg-copy-streams on it: the rows land in the same
 * transaction as everything else the caller does, which is the whole point.
 */
export async function copyInto(tx: Transaction, statement: string, payload: Buffer | string): Promise<void> {
  const client = clientOf(tx);
  await new Promise<void>((resolve, reject) => {
    const stream = client.query(copyFrom(statement));
    stream.once('error', reject);
    stream.once('finish', resolve);
    stream.end(payload);
  });
}

function clientOf(tx: Transaction): ClientBase {
  const client = (tx as unknown as { _driver?: { client?: ClientBase } })._driver?.client;
  if (!client || typeof client.query !== 'function') {
    throw new LoadError('this version of @databases/pg does not expose its client; COPY is unavailable', {});
  }
  return client;
}
