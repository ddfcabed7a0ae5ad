import { type ConnectionPool, sql } from '@databases/pg';
import test from 'ava';
import pino from 'pino';
import { parseConfigText } from '../config/index.ts';
import { rebuildViewTables, viewTable } from '../loaders/index.ts';
import { loadPaths } from '../pipeline/load.ts';
import { runSources } from '../pipeline/run.ts';
import { configuredViews } from '../pipeline/views.ts';
import { runCli } from './helpers/cli.ts';
import { connectAs, loginRole as loginRoleOn } from './helpers/reader.ts';
import { SAMPLE_DIR } from './helpers/fixtures.ts';
import { createTestWarehouse, type TestWarehouse } from './helpers/warehouse.ts';

/**
 * Read-only access (issue 12): a role granted with `db grant-read` or the config's
 * `warehouse.readers` reads the view tables, the marts and fhir_etl_status, keeps reading them
 * across the DDL fhir-etl runs, and never reads fhir_etl nor writes anything. Roles are
 * cluster-wide on a shared server: each test makes its own, named uniquely, and drops it.
 */
let warehouse: TestWarehouse;

function loginRole(t: { teardown(fn: () => Promise<void>): void }) {
  return loginRoleOn(t, warehouse);
}

async function tablesIn(schemas: string[]): Promise<string[]> {
  const rows: Array<{ name: string }> = await warehouse.db.query(sql`
    SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ANY(${schemas}) AND c.relkind IN ('r', 'v', 'm', 'p') ORDER BY 1`);
  return rows.map((row) => row.name);
}

/** The SQLSTATE a statement fails with as this role, or 'ok'. */
async function outcome(db: ConnectionPool, statement: string): Promise<string> {
  try {
    await db.query(sql.__dangerous__rawValue(statement));
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

test.before(async () => {
  warehouse = await createTestWarehouse();
  const summary = await loadPaths(warehouse.db, {
    paths: [SAMPLE_DIR],
    source: 'sample',
    concurrency: 2,
    maxLineBytes: 1 << 26,
    views: await configuredViews(),
  });
  if (summary.status !== 'succeeded') throw new Error(JSON.stringify(summary.outcomes));
});
test.after.always(async () => {
  await warehouse?.drop();
});

test.serial(
  'a role granted with db grant-read reads every view table and mart, never fhir_etl, and writes nothing',
  async (t) => {
    const { role, url } = await loginRole(t);
    const granted = await runCli(['db', 'grant-read', role], { databaseUrl: warehouse.url });
    t.is(granted.code, 0, granted.stderr);
    t.regex(
      granted.stdout,
      new RegExp(`${role} reads every table and view in fhir, analytics, fhir_etl_status`),
    );

    // DDL fhir-etl runs after the grant keeps it: a view table rebuilt (dropped and created
    // again by this version), a mart added by a later migration.
    const patient = (await configuredViews()).find((view) => view.name === 'patient');
    await rebuildViewTables(warehouse.db, [viewTable(patient as never, 'fhir')]);
    await warehouse.db.query(sql`CREATE VIEW analytics.test_later AS SELECT 1 AS one`);
    t.teardown(() => warehouse.db.query(sql`DROP VIEW analytics.test_later`));

    const reader = connectAs(t, url);
    const readable = await tablesIn(['fhir', 'analytics', 'fhir_etl_status']);
    t.true(readable.includes('fhir.patient') && readable.includes('analytics.test_later'));
    t.true(readable.length >= 20, readable.join(', '));
    for (const table of readable) t.is(await outcome(reader, `SELECT * FROM ${table} LIMIT 1`), 'ok', table);
    const [patients] = await reader.query(sql`SELECT count(*)::int AS n FROM fhir.patient`);
    t.true(patients.n > 0);

    const denied = [
      'SELECT * FROM fhir_etl.credentials',
      'SELECT status_url FROM fhir_etl.bulk_exports',
      'SELECT * FROM fhir_etl.runs',
      'SELECT * FROM fhir_raw.patient',
      "INSERT INTO fhir.patient (_source, _resource_id, _run_id) VALUES ('x', 'x', 1)",
      "UPDATE fhir.patient SET _source = 'x'",
      'DELETE FROM fhir.patient',
      'TRUNCATE fhir.eob_item',
      'CREATE TABLE analytics.mine (x int)',
      'CREATE TABLE fhir.mine (x int)',
      'DROP VIEW analytics.test_later',
    ];
    for (const statement of denied) t.is(await outcome(reader, statement), '42501', statement);
  },
);

test.serial('--raw also reads fhir_raw; granted again without it, the role no longer does', async (t) => {
  const { role, url } = await loginRole(t);
  const reader = connectAs(t, url);
  t.is((await runCli(['db', 'grant-read', role, '--raw'], { databaseUrl: warehouse.url })).code, 0);
  t.is(await outcome(reader, 'SELECT * FROM fhir_raw.patient LIMIT 1'), 'ok');
  t.is(await outcome(reader, 'SELECT * FROM fhir_etl.credentials'), '42501');
  t.is((await runCli(['db', 'grant-read', role], { databaseUrl: warehouse.url })).code, 0);
  t.is(await outcome(reader, 'SELECT * FROM fhir_raw.patient LIMIT 1'), '42501');
  t.is(await outcome(reader, 'SELECT * FROM fhir.patient LIMIT 1'), 'ok');
});

test.serial(
  'grant-read refuses a role that does not exist, and the loader’s own, exit 2, naming it',
  async (t) => {
    const missing = await runCli(['db', 'grant-read', 'fhir_etl_test_no_such_role'], {
      databaseUrl: warehouse.url,
    });
    t.is(missing.code, 2);
    t.regex(missing.stderr, /role fhir_etl_test_no_such_role does not exist.*CREATE ROLE/);
    t.notRegex(missing.stderr, /\n\s+at /);
    const [loader] = await warehouse.db.query(sql`SELECT current_user AS name`);
    const own = await runCli(['db', 'grant-read', loader.name], { databaseUrl: warehouse.url });
    t.is(own.code, 2);
    t.regex(own.stderr, /would read fhir_etl's tokens and secrets/);
  },
);

test.serial('the config’s warehouse.readers are granted on every run, before it loads', async (t) => {
  const { role, url } = await loginRole(t);
  const config = parseConfigText(
    JSON.stringify({
      warehouse: { readers: [role] },
      sources: [{ name: 'landing', kind: 'files', path: SAMPLE_DIR }],
    }),
    'test config',
  );
  const results = await runSources(warehouse.db, config, { logger: pino({ level: 'silent' }) });
  t.is(results[0]?.status, 'succeeded');
  const reader = connectAs(t, url);
  t.is(await outcome(reader, "SELECT count(*) FROM fhir.patient WHERE _source = 'landing'"), 'ok');
  t.is(await outcome(reader, 'SELECT * FROM fhir_etl.credentials'), '42501');

  const missing = parseConfigText(
    JSON.stringify({
      warehouse: { readers: ['fhir_etl_test_no_such_role'] },
      sources: [{ name: 'landing', kind: 'files', path: SAMPLE_DIR }],
    }),
    'test config',
  );
  const error = await t.throwsAsync(runSources(warehouse.db, missing, { logger: pino({ level: 'silent' }) }));
  t.like(error, { code: 'READER_ROLE_MISSING', kind: 'input' });
});
