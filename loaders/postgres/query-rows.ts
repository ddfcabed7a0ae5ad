import type { SQLQuery } from '@databases/pg';
import type { SqlQueryable } from './load-transaction.ts';

/**
 * A query's rows, typed as its SELECT list says. @databases/pg types every row `any`, which
 * would spread unchecked through the code; here the caller names the row type once, at the
 * query, either as the type argument or as the type of the variable the rows land in
 * (`const rows: Array<{ id: number }> = await queryRows(db, sql`SELECT id ...`)`). A caller
 * that names neither gets `unknown` rows and must narrow them.
 */
export function queryRows<Row = unknown>(db: SqlQueryable, query: SQLQuery): Promise<Row[]> {
  return db.query(query) as Promise<Row[]>;
}
