import { readdir, readFile } from 'node:fs/promises';
import type { ConnectionPool } from '@databases/pg';
import { sql } from '@databases/pg';
import { shippedPath } from '../../shipped/index.ts';
import { MigrationError } from '../errors.ts';
import { queryRows } from './query-rows.ts';

/** migrations/ at the project root: numbered SQL files, applied in order, each once. */
export const migrationsDir = shippedPath('migrations');

/** Any fixed number works; it only has to differ from the other advisory locks we take. */
const MIGRATION_LOCK = 74_110_001;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * Applies every migration not yet recorded in fhir_etl.migrations, in one transaction under
 * an advisory lock, so two processes starting at once apply each migration exactly once
 * and the second waits for the first instead of failing on half-created objects.
 * @returns the versions applied by this call (empty when the schema was current)
 */
export async function migrate(db: ConnectionPool, dir = migrationsDir): Promise<number[]> {
  const migrations = await readMigrations(dir);
  return db.tx(async (tx) => {
    await tx.query(sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await tx.query(sql`CREATE SCHEMA IF NOT EXISTS fhir_etl`);
    await tx.query(sql`
      CREATE TABLE IF NOT EXISTS fhir_etl.migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const rows: Array<{ version: number }> = await queryRows(
      tx,
      sql`SELECT version FROM fhir_etl.migrations`,
    );
    const applied = new Set(rows.map((row) => row.version));
    const newlyApplied: number[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      try {
        await tx.query(sql.__dangerous__rawValue(migration.sql));
      } catch (cause) {
        throw new MigrationError(
          `migration ${migration.name} failed: ${(cause as Error).message}`,
          { migration: migration.name },
          cause,
        );
      }
      await tx.query(
        sql`INSERT INTO fhir_etl.migrations (version, name) VALUES (${migration.version}, ${migration.name})`,
      );
      newlyApplied.push(migration.version);
    }
    return newlyApplied;
  });
}

/** Reads `NNN_name.sql` files in version order; any other file name is a mistake worth refusing. */
export async function readMigrations(dir = migrationsDir): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const name of names) {
    const match = /^(\d+)_[a-z0-9_]+\.sql$/.exec(name);
    if (!match?.[1]) {
      throw new MigrationError(`migration file ${name} is not named NNN_description.sql`, { dir, name });
    }
    migrations.push({ version: Number(match[1]), name, sql: await readFile(`${dir}/${name}`, 'utf8') });
  }
  return migrations;
}
