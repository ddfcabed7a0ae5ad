import { sql } from '@databases/pg';
import test from 'ava';
import { migrate, openWarehouse, readMigrations } from '../loaders/index.ts';
import { NoRowError } from '../loaders/errors.ts';
import { queryRow } from '../loaders/postgres/query-row.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

const warehouse = useTestWarehouse(test);

test('migrations are recorded once each, and applying them again does nothing', async (t) => {
  const migrations = await readMigrations();
  const recorded = await warehouse.db.query(sql`SELECT version FROM fhir_etl.migrations ORDER BY version`);
  t.deepEqual(
    recorded.map((r: { version: number }) => r.version),
    migrations.map((m) => m.version),
  );
  t.deepEqual(await migrate(warehouse.db), []);
});

test('processes migrating the same fresh database at once apply each migration exactly once', async (t) => {
  const [{ db }] = await warehouse.db.query(sql`SELECT current_database() AS db`);
  const fresh = `${db}_race`;
  await warehouse.db.query(sql`CREATE DATABASE ${sql.ident(fresh)}`);
  const url = new URL(warehouse.url);
  url.pathname = `/${fresh}`;
  try {
    const opened = await Promise.all(
      [1, 2, 3, 4].map(() => openWarehouse({ databaseUrl: url.toString(), migrate: false })),
    );
    const applied = await Promise.all(opened.map((w) => migrate(w.db)));
    t.is(applied.flat().length, (await readMigrations()).length);
    const [{ n }] = await (opened[0] as (typeof opened)[number]).db.query(
      sql`SELECT count(*)::int AS n FROM fhir_etl.migrations`,
    );
    t.is(n, (await readMigrations()).length);
    await Promise.all(opened.map((w) => w.close()));
  } finally {
    await warehouse.db.query(sql`DROP DATABASE IF EXISTS ${sql.ident(fresh)} WITH (FORCE)`);
  }
});

test('an unreachable database is a clear error naming the address, with the password masked', async (t) => {
  const error = await t.throwsAsync(
    openWarehouse({ databaseUrl: 'postgres://someone:secret@127.0.0.1:1/nowhere' }),
  );
  t.is((error as { code?: string }).code, 'WAREHOUSE_UNAVAILABLE');
  t.regex(
    error?.message ?? '',
    /cannot connect to PostgreSQL at postgres:\/\/someone:\*\*\*@127\.0\.0\.1:1\/nowhere/,
  );
  t.notRegex(error?.message ?? '', /secret/);
});

test('the supersedes rule: later lastUpdated wins, then a larger numeric versionId, else the newcomer', async (t) => {
  const cases: Array<[string | null, string | null, string | null, string | null, boolean]> = [
    ['2024-02-01T00:00:00Z', null, '2024-01-01T00:00:00Z', null, true],
    ['2024-01-01T00:00:00Z', null, '2024-02-01T00:00:00Z', null, false],
    ['2024-01-01T00:00:00Z', '3', '2024-01-01T00:00:00Z', '2', true],
    ['2024-01-01T00:00:00Z', '2', '2024-01-01T00:00:00Z', '3', false],
    [null, '9', null, '10', false],
    [null, 'abc', null, 'abd', true],
    [null, null, null, null, true],
  ];
  for (const [newLu, newV, oldLu, oldV, expected] of cases) {
    const [row] = await warehouse.db.query(
      sql`SELECT fhir_etl.supersedes(${newLu}::timestamptz, ${newV}, ${oldLu}::timestamptz, ${oldV}) AS wins`,
    );
    t.is(row.wins, expected, JSON.stringify([newLu, newV, oldLu, oldV]));
  }
});

test('queryRow gives the one row; a query that returned none is a NoRowError, never an undefined row', async (t) => {
  t.deepEqual(await queryRow(warehouse.db, sql`SELECT 1 AS one`), { one: 1 });
  const error = await t.throwsAsync(queryRow(warehouse.db, sql`SELECT 1 AS one WHERE false`), {
    instanceOf: NoRowError,
  });
  t.is(error?.code, 'NO_ROW');
});
