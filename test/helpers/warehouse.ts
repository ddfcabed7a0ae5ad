import { randomBytes } from 'node:crypto';
import pgModule, { type ConnectionPool, sql } from '@databases/pg';
import type { TestFn } from 'ava';
import {
  acquireEmbedded,
  openWarehouse,
  releaseEmbedded,
  type Warehouse,
  withDefaultUser,
} from '../../loaders/index.ts';
import { useFixture } from './hooks.ts';

/**
 * A fresh, migrated database for one test file, on real PostgreSQL: the server DATABASE_URL
 * points at when set, else the embedded server. Each test file gets its own database, so
 * files run in parallel without seeing each other's rows.
 */
export interface TestWarehouse extends Warehouse {
  url: string;
  drop(): Promise<void>;
}

export async function createTestWarehouse(): Promise<TestWarehouse> {
  const serverUrl = withDefaultUser(process.env.DATABASE_URL || (await acquireEmbedded()).url);
  const name = `fhir_etl_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = pool(serverUrl);
  await admin.query(sql`CREATE DATABASE ${sql.ident(name)}`);
  await admin.dispose();
  const url = withDatabase(serverUrl, name);
  const warehouse = await openWarehouse({ databaseUrl: url });
  return {
    ...warehouse,
    url,
    async drop() {
      await warehouse.close();
      const again = pool(serverUrl);
      await again.query(sql`DROP DATABASE IF EXISTS ${sql.ident(name)} WITH (FORCE)`);
      await again.dispose();
      if (!process.env.DATABASE_URL) await releaseEmbedded();
    },
  };
}

/**
 * A test file's warehouse: created before its tests, dropped after them (even when one fails).
 * `const warehouse = useTestWarehouse(test);` then `warehouse.db` / `warehouse.url` in tests.
 */
export function useTestWarehouse<Context>(test: TestFn<Context>): TestWarehouse {
  return useFixture(test, createTestWarehouse, (warehouse) => warehouse.drop());
}

function pool(url: string): ConnectionPool {
  return pgModule.default({ connectionString: url, bigIntMode: 'number', onError: () => undefined });
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Rows of a query, for assertions. */
export async function rows<T = Record<string, unknown>>(
  db: ConnectionPool,
  query: ReturnType<typeof sql>,
): Promise<T[]> {
  return db.query(query);
}
