import { chmod, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pgModule, { type ConnectionPool, sql } from '@databases/pg';
import test from 'ava';
import { runCli } from './helpers/cli.ts';
import { createTestWarehouse } from './helpers/warehouse.ts';

/**
 * The README's main command, run as a new user runs it: `fhir-etl demo` in an empty folder.
 * Without DATABASE_URL it starts its own embedded PostgreSQL there, exactly as on a fresh
 * clone; with DATABASE_URL (CI's second pass) it is pointed at a fresh database on that server
 * with --database-url, since the demo never loads into whatever $DATABASE_URL names.
 */
test('fhir-etl demo loads a bulk and a payer source into the warehouse and answers the analyst question', async (t) => {
  const folder = await mkdtemp(join(tmpdir(), 'fhir-etl-demo-'));
  // As root, the embedded server runs as the postgres OS user, which must reach the folder.
  await chmod(folder, 0o755);
  const env: NodeJS.ProcessEnv = { ...process.env, FHIR_ETL_HOME: join(folder, '.fhir-etl') };
  delete env.DATABASE_URL;
  delete env.FHIR_ETL_SECRET_KEY;
  const testWarehouse = process.env.DATABASE_URL ? await createTestWarehouse() : undefined;
  // The demo never takes $DATABASE_URL (it may be a real warehouse): only --database-url.
  const target = testWarehouse ? ['--database-url', testWarehouse.url] : [];
  // ... and a $DATABASE_URL that leads nowhere proves it is not used.
  if (!testWarehouse) env.DATABASE_URL = 'postgres://127.0.0.1:1/not-the-demo-warehouse';
  t.teardown(async () => {
    if (testWarehouse) await testWarehouse.drop();
    else await runCli(['db', 'stop'], { cwd: folder, env });
  });

  const demo = await runCli([...target, 'demo', '--patients', '12'], { cwd: folder, env });
  t.is(demo.code, 0, `${demo.stdout}\n${demo.stderr}`);
  t.regex(demo.stdout, /member 01-testmemid logged in/);
  t.regex(demo.stdout, /sandbox-provider\s+\d+\s+succeeded/);
  t.regex(demo.stdout, /sandbox-payer\s+\d+\s+succeeded/);
  t.regex(demo.stdout, /Claims and paid amount per member per month/);
  t.regex(demo.stdout, testWarehouse ? /schema fhir of that database/ : /fhir-etl db start/);
  // It ends by naming the web console's command and URL.
  t.regex(demo.stdout, /fhir-etl (--database-url URL )?ui\b[^\n]*\n?[^\n]*http:\/\/127\.0\.0\.1:8977\/\s*$/);

  const url = testWarehouse?.url ?? (await runCli(['db', 'start'], { cwd: folder, env })).stdout.trim();
  const db: ConnectionPool = pgModule.default({ connectionString: url, bigIntMode: 'number' });
  t.teardown(() => db.dispose());
  const runs = await db.query(sql`SELECT source, status, resources FROM fhir_etl.runs ORDER BY id`);
  t.deepEqual(
    runs.map((r) => [r.source, r.status]),
    [
      ['sandbox-provider', 'succeeded'],
      ['sandbox-payer', 'succeeded'],
    ],
  );
  const [patients] = await db.query(sql`
    SELECT count(*) FILTER (WHERE _source = 'sandbox-provider')::int AS bulk,
           count(*) FILTER (WHERE _source = 'sandbox-payer')::int AS payer
    FROM fhir.patient`);
  t.deepEqual(patients, { bulk: 12, payer: 2 });
  const [claims] = await db.query(sql`
    SELECT count(*)::int AS n FROM fhir.explanation_of_benefit e
    JOIN fhir.patient p ON p.id = e.patient_id AND p._source = e._source`);
  t.true(claims.n > 0, 'claims join to their members');
  const [credentials] = await db.query(
    sql`SELECT count(*)::int AS n FROM fhir_etl.members WHERE source = 'sandbox-payer'`,
  );
  t.is(credentials.n, 2);

  // The URL the demo gives BI tools reads the view tables and nothing of fhir_etl.
  if (testWarehouse) return;
  const readerUrl = /read-only URL\n\s+(postgres:\/\/fhir_reader:\S+)/.exec(demo.stdout)?.[1];
  t.truthy(readerUrl, demo.stdout);
  const reader: ConnectionPool = pgModule.default({ connectionString: readerUrl, bigIntMode: 'number' });
  t.teardown(() => reader.dispose());
  const [seen] = await reader.query(sql`SELECT count(*)::int AS n FROM fhir.patient`);
  t.is(seen.n, 14);
  const refused = await t.throwsAsync(reader.query(sql`SELECT * FROM fhir_etl.credentials`));
  t.is((refused as unknown as { code: string }).code, '42501');
});
