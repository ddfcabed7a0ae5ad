import { randomBytes } from 'node:crypto';
import pgModule, { type ConnectionPool, sql } from '@databases/pg';
import {
  acquireEmbedded,
  openWarehouse,
  releaseEmbedded,
  type Warehouse,
  withDefaultUser,
} from '../loaders/index.ts';

/**
 * A fresh, migrated database for one bench, on the server DATABASE_URL points at when set,
 * else on the embedded server (as test/helpers/warehouse.ts does). Dropped afterwards unless
 * BENCH_KEEP=1.
 */
export interface BenchDatabase {
  warehouse: Warehouse;
  url: string;
  name: string;
  server: string;
  drop(): Promise<void>;
}

export async function createBenchDatabase(label: string): Promise<BenchDatabase> {
  const external = Boolean(process.env.DATABASE_URL);
  const serverUrl = withDefaultUser(process.env.DATABASE_URL || (await acquireEmbedded()).url);
  const name = `fhir_etl_bench_${label}_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = pool(serverUrl);
  const [row] = await admin.query(sql`SELECT current_setting('server_version') AS version`);
  await admin.query(sql`CREATE DATABASE ${sql.ident(name)}`);
  await admin.dispose();
  const url = withDatabase(serverUrl, name);
  const warehouse = await openWarehouse({ databaseUrl: url });
  return {
    warehouse,
    url,
    name,
    server: `${external ? 'DATABASE_URL' : 'embedded'} PostgreSQL ${row.version}`,
    async drop() {
      await warehouse.close();
      if (process.env.BENCH_KEEP !== '1') {
        const again = pool(serverUrl);
        await again.query(sql`DROP DATABASE IF EXISTS ${sql.ident(name)} WITH (FORCE)`);
        await again.dispose();
      }
      if (!external) await releaseEmbedded();
    },
  };
}

/** Flushes dirty buffers before a timed phase so one phase does not pay for the previous one's writes. */
export async function checkpoint(db: ConnectionPool): Promise<void> {
  await db.query(sql`CHECKPOINT`).catch(() => undefined);
}

function pool(url: string): ConnectionPool {
  return pgModule.default({ connectionString: url, bigIntMode: 'number', onError: () => undefined });
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
