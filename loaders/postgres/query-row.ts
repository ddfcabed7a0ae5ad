import type { SQLQuery } from '@databases/pg';
import type { SqlQueryable } from './load-transaction.ts';
import { NoRowError } from '../errors.ts';
import { queryRows } from './query-rows.ts';

/**
 * The one row of a query that always returns one (an aggregate, a SELECT of expressions, an
 * UPDATE ... RETURNING of a row known to exist), typed as the caller names it (see queryRows).
 */
export async function queryRow<Row = unknown>(db: SqlQueryable, query: SQLQuery): Promise<Row> {
  const [row] = await queryRows<Row>(db, query);
  if (row === undefined) throw new NoRowError({});
  return row;
}
