import { randomBytes } from 'node:crypto';
import pgModule, { type ConnectionPool, sql } from '@databases/pg';

interface Teardown {
  teardown(fn: () => Promise<void> | void): void;
}

/**
 * A login role of a test's own on the test warehouse's server, dropped (with its privileges)
 * when the test ends. Roles are cluster-wide on a shared server: the name is unique.
 */
export async function loginRole(
  t: Teardown,
  warehouse: { db: ConnectionPool; url: string },
): Promise<{ role: string; url: string }> {
  const role = `fhir_etl_test_reader_${randomBytes(5).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  await warehouse.db.query(
    sql`CREATE ROLE ${sql.ident(role)} LOGIN PASSWORD ${sql.__dangerous__rawValue(`'${password}'`)}`,
  );
  t.teardown(async () => {
    await warehouse.db.query(sql`DROP OWNED BY ${sql.ident(role)}`);
    await warehouse.db.query(sql`DROP ROLE ${sql.ident(role)}`);
  });
  const url = new URL(warehouse.url);
  url.username = role;
  url.password = password;
  return { role, url: url.toString() };
}

/** A pool connected as `url`'s role, closed when the test ends. */
export function connectAs(t: Teardown, url: string): ConnectionPool {
  const db = pgModule.default({ connectionString: url, bigIntMode: 'number', onError: () => undefined });
  t.teardown(() => db.dispose());
  return db;
}
