import { randomBytes } from 'node:crypto';
import { type ConnectionPool, sql } from '@databases/pg';
import type { TestFn } from 'ava';
import {
  acquireEmbedded,
  openWarehouse,
  releaseEmbedded,
  type Warehouse,
  withDefaultUser,
} from '../../loaders/index.ts';
import { useFixture } from './hooks.ts';
import { adminPool as pool, cloneTemplate, withDatabase } from './template-database.ts';

/**
 * A fresh, migrated database for one test file, on real PostgreSQL: the server DATABASE_URL
 * points at when set, else the embedded server. Each test file gets its own database, so
 * files run in parallel without seeing each other's rows. It is a clone of the server's
 * migrated template (template-database.ts): the migrations run once a server, not once a file.
 */
export interface TestWarehouse extends Warehouse {
  url: string;
  drop(): Promise<void>;
}

export interface TestWarehouseOptions {
  /** Connections of the pool (default 6, as `fhir-etl run` opens for one small source). */
  poolSize?: number;
  /**
   * Fail the test file when PostgreSQL counted a deadlock in its database (pg_stat_database):
   * a deadlock PostgreSQL broke and a retry hid is still a lock-order bug. The database is the
   * file's own, so tests of other files running at once do not move its counter.
   */
  noDeadlocks?: boolean;
}

export async function createTestWarehouse(options: TestWarehouseOptions = {}): Promise<TestWarehouse> {
  const serverUrl = withDefaultUser(process.env.DATABASE_URL || (await acquireEmbedded()).url);
  const name = `fhir_etl_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = pool(serverUrl);
  try {
    await cloneTemplate(admin, serverUrl, name);
  } finally {
    await admin.dispose();
  }
  const url = withDatabase(serverUrl, name);
  const warehouse = await openWarehouse({
    databaseUrl: url,
    ...(options.poolSize === undefined ? {} : { poolSize: options.poolSize }),
  });
  return {
    ...warehouse,
    url,
    async drop() {
      await warehouse.close();
      const again = pool(serverUrl);
      try {
        const deadlocks = await deadlocksIn(again, name);
        await again.query(sql`DROP DATABASE IF EXISTS ${sql.ident(name)} WITH (FORCE)`);
        if (options.noDeadlocks && deadlocks > 0) {
          throw new Error(`PostgreSQL detected ${deadlocks} deadlock(s) in the test database ${name}`);
        }
      } finally {
        await again.dispose();
        if (!process.env.DATABASE_URL) await releaseEmbedded();
      }
    },
  };
}

/**
 * PostgreSQL's deadlock count for a database. A backend reports its statistics when it exits
 * (and otherwise only every few seconds), so every backend still on the database is ended
 * first, waiting for each to exit (pg_terminate_backend with a timeout, PostgreSQL 14+).
 */
async function deadlocksIn(admin: ConnectionPool, database: string): Promise<number> {
  await admin.query(sql`
    SELECT pg_terminate_backend(pid, 60000) FROM pg_stat_activity
    WHERE datname = ${database} AND pid <> pg_backend_pid()`);
  const [row] = await admin.query(
    sql`SELECT deadlocks::int AS n FROM pg_stat_database WHERE datname = ${database}`,
  );
  return row?.n ?? 0;
}

/**
 * A test file's warehouse: created before its tests, dropped after them (even when one fails).
 * `const warehouse = useTestWarehouse(test);` then `warehouse.db` / `warehouse.url` in tests.
 */
export function useTestWarehouse<Context>(
  test: TestFn<Context>,
  options: TestWarehouseOptions = {},
): TestWarehouse {
  return useFixture(
    test,
    () => createTestWarehouse(options),
    (warehouse) => warehouse.drop(),
  );
}

/** Rows of a query, for assertions. */
export async function rows<T = Record<string, unknown>>(
  db: ConnectionPool,
  query: ReturnType<typeof sql>,
): Promise<T[]> {
  return db.query(query);
}
