import { pgFormat, type SQLQuery } from '@databases/pg';
import type { PoolClient, QueryResult } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { LoadError } from '../errors.ts';

/**
 * What the warehouse's helpers need of a connection: SQL queries built with `sql`. A pool and
 * a transaction of @databases/pg are one, and so is a LoadTransaction.
 */
export interface SqlQueryable {
  // The rows' shape is the caller's to state, as with @databases/pg's own query().
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  query(query: SQLQuery): Promise<any[]>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  query(queries: SQLQuery[]): Promise<any[][]>;
}

/**
 * The transaction a file (or a REST page, or a view's rebuild) is loaded in: SQL queries and
 * COPY FROM STDIN on one node-postgres client of our own (see load-connections.ts), so the
 * rows COPYed and the checkpoint written beside them commit, or roll back, together.
 * @databases/pg has no COPY, and its transactions keep their client private: the load path
 * owns its connection instead, and speaks to it through public APIs only (the client's
 * `query`, pg-copy-streams' `from`, @databases/pg's `pgFormat` for `sql` queries).
 */
export class LoadTransaction implements SqlQueryable {
  #client: PoolClient | undefined;

  constructor(client: PoolClient) {
    this.#client = client;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  query(query: SQLQuery): Promise<any[]>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  query(queries: SQLQuery[]): Promise<any[][]>;
  async query(query: SQLQuery | SQLQuery[]): Promise<unknown[]> {
    if (!Array.isArray(query)) return this.#rows(query);
    const all: unknown[][] = [];
    for (const one of query) all.push(await this.#rows(one));
    return all;
  }

  /** Streams COPY text (`COPY table (columns) FROM STDIN`) into the transaction. */
  async copyFrom(statement: string, payload: Buffer | string): Promise<void> {
    const client = this.#open();
    await new Promise<void>((resolve, reject) => {
      const stream = client.query(copyFrom(statement));
      stream.once('error', reject);
      stream.once('finish', resolve);
      stream.end(payload);
    });
  }

  /** Ends the transaction's use of its client: a statement sent after this is a bug, and says so. */
  close(): void {
    this.#client = undefined;
  }

  async #rows(query: SQLQuery): Promise<unknown[]> {
    const { text, values } = query.format(pgFormat);
    // Text without parameters may hold several statements (pg answers with one result each):
    // like @databases/pg, the rows of the last.
    type Result = QueryResult<Record<string, unknown>>;
    const result: Result | Result[] = await this.#open().query<Record<string, unknown>>(text, values);
    const last = ([] as Result[]).concat(result).at(-1);
    return last?.rows ?? [];
  }

  #open(): PoolClient {
    if (this.#client === undefined) {
      throw new LoadError('a statement was sent on a load transaction that had already ended', {});
    }
    return this.#client;
  }
}
