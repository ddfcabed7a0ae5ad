import { chmodSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pgModule, { sql } from '@databases/pg';
import test from 'ava';
import { openWarehouse, readOnlyUrl, stopKept } from '../loaders/index.ts';
import { runCli } from './helpers/cli.ts';

/**
 * The embedded server's read-only login (issue 12): `fhir_reader`, its generated password kept
 * under the home folder for its owner only, its URL printed by `db url --read-only`.
 */
const home = mkdtempSync(join(tmpdir(), 'fhir-etl-reader-home-'));
chmodSync(home, 0o755);
const env: NodeJS.ProcessEnv = { ...process.env, FHIR_ETL_HOME: home };
delete env.DATABASE_URL;

test.after.always(async () => {
  await stopKept(home);
});

test.serial(
  'the embedded server has a fhir_reader login that reads analytics and never fhir_etl',
  async (t) => {
    const warehouse = await openWarehouse({ home });
    t.teardown(() => warehouse.close());
    t.true(warehouse.embedded);
    t.is(statSync(join(home, 'postgres-reader.json')).mode & 0o777, 0o600);

    const url = await readOnlyUrl({ home });
    t.regex(url, /^postgres:\/\/fhir_reader:[A-Za-z0-9_-]+@127\.0\.0\.1:\d+\/fhir_etl$/);
    const printed = await runCli(['db', 'url', '--read-only'], { env });
    t.is(printed.code, 0, printed.stderr);
    t.is(printed.stdout.trim(), url);

    const reader = pgModule.default({
      connectionString: url,
      bigIntMode: 'number',
      onError: () => undefined,
    });
    t.teardown(() => reader.dispose());
    const [who] = await reader.query(sql`SELECT current_user AS name`);
    t.is(who.name, 'fhir_reader');
    // Not a table in analytics yet (the marts come later), but the schema is the reader's.
    await t.notThrowsAsync(reader.query(sql`SELECT count(*) FROM pg_tables WHERE schemaname = 'analytics'`));
    for (const statement of [
      sql`SELECT * FROM fhir_etl.credentials`,
      sql`SELECT * FROM fhir_etl.bulk_exports`,
    ]) {
      const error = await t.throwsAsync(reader.query(statement));
      t.is((error as unknown as { code: string }).code, '42501');
    }
    const schemas: Array<{ nspname: string }> = await warehouse.db.query(sql`
    SELECT nspname FROM pg_namespace WHERE has_schema_privilege('fhir_reader', oid, 'USAGE')
      AND nspname IN ('fhir', 'analytics', 'fhir_etl_status', 'fhir_raw', 'fhir_etl') ORDER BY 1`);
    t.deepEqual(
      schemas.map((s) => s.nspname),
      ['analytics', 'fhir', 'fhir_etl_status'],
    );
  },
);

test.serial(
  'db url --read-only for a warehouse of your own names what to create and configure, exit 2',
  async (t) => {
    const result = await runCli(['db', 'url', '--read-only'], {
      env: { ...env, DATABASE_URL: 'postgres://loader:secret@db.example.org/warehouse' },
    });
    t.is(result.code, 2);
    t.regex(
      result.stderr,
      /no read-only URL is configured for the warehouse postgres:\/\/loader:\*\*\*@db\.example\.org/,
    );
    t.regex(result.stderr, /CREATE ROLE bi_reader LOGIN.*grant-read bi_reader.*warehouse\.readerUrl/);
    t.notRegex(result.stderr, /secret/);
  },
);
