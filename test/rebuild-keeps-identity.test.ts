import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pgModule, { sql } from '@databases/pg';
import test from 'ava';
import { rebuildViewTables, viewTable } from '../loaders/index.ts';
import { shippedViewsDir } from '../schemas/index.ts';
import { compileView, parseViewDefinition, type ViewDefinition } from '../transforms/index.ts';
import { runMain } from './helpers/main.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

/**
 * Tables keep their identity: what analysts and BI tools hang on fhir.patient (a GRANT, a
 * hand-written COMMENT, an index, their own views) survives `rebuild` and a load after an
 * upgrade that adds a column, retypes another and drops a third. A view that reads a column
 * that changes stops the change (exit 2, nothing changed) unless `--cascade`.
 */
const warehouse = useTestWarehouse(test);
const db = () => warehouse.db;
const reader = `identity_test_reader_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
const load = (...args: string[]) => runMain(['load', '--database-url', warehouse.url, ...args]);
const rebuild = (...args: string[]) => runMain(['rebuild', '--database-url', warehouse.url, ...args]);

/**
 * fhir.patient as an older fhir-etl built it: no `active` column (the upgrade adds it),
 * birth_date a timestamptz (the upgrade retypes it to date), and a `legacy_note` the upgrade drops.
 */
function olderPatientView(): ViewDefinition {
  const shipped = JSON.parse(readFileSync(join(shippedViewsDir, 'patient.json'), 'utf8'));
  const columns = shipped.select[0].column as Array<{
    name: string;
    type: string;
    path: string;
    tag?: unknown;
  }>;
  shipped.select[0].column = [
    ...columns
      .filter((c) => c.name !== 'active')
      .map((c) => (c.name === 'birth_date' ? { ...c, type: 'dateTime' } : c)),
    { name: 'legacy_note', path: 'gender', type: 'string', description: 'Dropped by the upgrade.' },
  ];
  return parseViewDefinition(shipped);
}

async function patientsFile(ids: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fhir-etl-identity-'));
  const path = join(dir, 'Patient.ndjson');
  writeFileSync(
    path,
    ids
      .map((id) =>
        JSON.stringify({
          resourceType: 'Patient',
          id,
          gender: 'female',
          birthDate: '1980-02-03',
          active: true,
        }),
      )
      .join('\n'),
  );
  return path;
}

const tableOid = async () => (await db().query(sql`SELECT 'fhir.patient'::regclass::oid AS oid`))[0].oid;
const columnType = async (column: string) =>
  (
    await db().query(sql`
      SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
      WHERE attrelid = 'fhir.patient'::regclass AND attname = ${column} AND NOT attisdropped`)
  )[0]?.type;

/** Everything the analyst hung on fhir.patient is still there. */
async function analystWorkSurvives(t: import('ava').ExecutionContext, oid: number): Promise<void> {
  t.is(await tableOid(), oid, 'the same table, not a new one');
  const [grant] = await db().query(
    sql`SELECT has_table_privilege(${reader}, 'fhir.patient', 'SELECT') AS patient,
               has_table_privilege(${reader}, 'public.patient_genders', 'SELECT') AS view`,
  );
  t.deepEqual(grant, { patient: true, view: true }, 'the grants survive');
  const [comment] = await db().query(
    sql`SELECT col_description('fhir.patient'::regclass, attnum) AS text FROM pg_attribute
        WHERE attrelid = 'fhir.patient'::regclass AND attname = 'gender'`,
  );
  t.is(comment.text, 'Analyst note: use for the gender split dashboard.', 'the hand comment survives');
  const indexes = await db().query(
    sql`SELECT indexname FROM pg_indexes WHERE tablename = 'patient' AND indexname = 'patient_gender_hand'`,
  );
  t.is(indexes.length, 1, 'the hand index survives');
  const genders = await db().query(sql`SELECT id, gender FROM public.patient_genders ORDER BY id`);
  t.true(genders.length > 0, "the analyst's view reads the refilled table");
}

/**
 * Roles are cluster-wide: the last test drops the reader role's grants and the role while the
 * warehouse is open (the warehouse's own clean-up runs beside after hooks, not before them);
 * this drops it if that test never got there and the database is gone, its grants with it.
 */
async function dropReader(): Promise<void> {
  await db().query(sql`DROP OWNED BY ${sql.ident(reader)}`);
  await db().query(sql`DROP ROLE ${sql.ident(reader)}`);
}
test.after.always(async () => {
  const server = pgModule.default({
    connectionString: warehouse.url.replace(/\/[^/]*$/, '/postgres'),
    bigIntMode: 'number',
    onError: () => undefined,
  });
  await server.query(sql`DROP ROLE IF EXISTS ${sql.ident(reader)}`).catch(() => undefined);
  await server.dispose();
});

let oid = 0;
test.serial(
  'set-up: the warehouse an older fhir-etl built, and an analyst at work on fhir.patient',
  async (t) => {
    t.is((await load('--source', 'a', await patientsFile(['p1', 'p2']))).code, 0);
    // Back to the older definition, as the table was before the upgrade.
    await rebuildViewTables(db(), [viewTable(compileView(olderPatientView()), 'fhir')]);
    t.is(await columnType('birth_date'), 'timestamp with time zone');
    await db().query(sql`CREATE ROLE ${sql.ident(reader)} NOLOGIN`);
    await db().query(sql`GRANT SELECT ON fhir.patient TO ${sql.ident(reader)}`);
    await db().query(
      sql`COMMENT ON COLUMN fhir.patient.gender IS 'Analyst note: use for the gender split dashboard.'`,
    );
    await db().query(sql`CREATE INDEX patient_gender_hand ON fhir.patient (gender)`);
    await db().query(sql`CREATE VIEW public.patient_genders AS SELECT _source, id, gender FROM fhir.patient`);
    await db().query(sql`GRANT SELECT ON public.patient_genders TO ${sql.ident(reader)}`);
    oid = await tableOid();
  },
);

test.serial(
  'a load after the upgrade migrates fhir.patient in place: column added, one retyped, one dropped',
  async (t) => {
    const result = await load('--source', 'a', await patientsFile(['p3']));
    t.is(result.code, 0, result.stderr);
    t.is(await columnType('birth_date'), 'date');
    t.is(await columnType('active'), 'boolean');
    t.is(await columnType('legacy_note'), undefined);
    const rows = await db().query(
      sql`SELECT id, birth_date::text AS born, active FROM fhir.patient ORDER BY id`,
    );
    t.deepEqual(
      rows,
      ['p1', 'p2', 'p3'].map((id) => ({ id, born: '1980-02-03', active: true })),
      'refilled from fhir_raw',
    );
    await analystWorkSurvives(t, oid);
  },
);

test.serial('rebuild with unchanged columns refills fhir.patient in place', async (t) => {
  await db().query(sql`DELETE FROM fhir.patient WHERE id = 'p1'`);
  const result = await rebuild('--view', 'patient');
  t.is(result.code, 0, result.stderr);
  t.deepEqual(
    (await db().query(sql`SELECT id FROM fhir.patient ORDER BY id`)).map((r: { id: string }) => r.id),
    ['p1', 'p2', 'p3'],
  );
  await analystWorkSurvives(t, oid);
});

test.serial(
  'a view that reads a changing column stops rebuild before anything changes: exit 2, named, --cascade offered',
  async (t) => {
    await rebuildViewTables(db(), [viewTable(compileView(olderPatientView()), 'fhir')], { cascade: true });
    await db().query(
      sql`CREATE VIEW public.patient_births AS SELECT _source, id, birth_date FROM fhir.patient`,
    );
    await db().query(sql`GRANT SELECT ON public.patient_births TO ${sql.ident(reader)}`);
    const runsBefore = (await db().query(sql`SELECT count(*)::int AS n FROM fhir_etl.runs`))[0].n;
    const result = await rebuild('--view', 'patient');
    t.is(result.code, 2, result.stderr);
    t.regex(
      result.stderr,
      /fhir\.patient \(birth_date from timestamp with time zone to date, legacy_note dropped\) is read by public\.patient_births \(birth_date\)/,
    );
    t.regex(result.stderr, /Nothing was changed\. Run `fhir-etl rebuild --view patient --cascade`/);
    t.regex(result.stderr, /\[VIEW_DEPENDENTS_BLOCK\]/);
    t.notRegex(result.stderr, /unexpected error|\n\s+at /);
    t.is(await columnType('birth_date'), 'timestamp with time zone', 'the table was not changed');
    t.is(
      (await db().query(sql`SELECT count(*)::int AS n FROM fhir_etl.runs`))[0].n,
      runsBefore,
      'no run was recorded',
    );
    const load3 = await load('--source', 'a', await patientsFile(['p4']));
    t.is(load3.code, 2, 'a load that would upgrade the table is refused the same way');
    t.regex(load3.stderr, /is read by public\.patient_births \(birth_date\)/);
    t.is((await db().query(sql`SELECT count(*)::int AS n FROM fhir_raw.patient WHERE id = 'p4'`))[0].n, 0);
  },
);

test.serial(
  'rebuild --cascade saves the views, migrates and recreates them, grants and all, in one transaction',
  async (t) => {
    await db().query(sql`CREATE VIEW public.patient_notes AS SELECT id, legacy_note FROM fhir.patient`);
    const result = await rebuild('--view', 'patient', '--cascade');
    t.is(result.code, 1, 'a view that could not be recreated is a failure to look at');
    t.regex(result.stdout, /patient: recreated (.*, )?public\.patient_births/);
    t.regex(
      result.stderr,
      /patient: could not recreate public\.patient_notes \(column \S*legacy_note\S* does not exist\); its definition is kept in fhir_etl\.dropped_views/,
    );
    t.is(await columnType('birth_date'), 'date');
    const births = await db().query(
      sql`SELECT id, birth_date::text AS born FROM public.patient_births ORDER BY id`,
    );
    t.deepEqual(
      births.map((r: { born: string }) => r.born),
      ['1980-02-03', '1980-02-03', '1980-02-03'],
    );
    const [grant] = await db().query(
      sql`SELECT has_table_privilege(${reader}, 'public.patient_births', 'SELECT') AS ok`,
    );
    t.true(grant.ok, 'the recreated view keeps its grant');
    const [kept] = await db().query(sql`SELECT view_name, definition FROM fhir_etl.dropped_views`);
    t.is(kept.view_name, 'patient_notes');
    t.regex(kept.definition, /CREATE VIEW "public"\."patient_notes" AS .*legacy_note/s);
    await analystWorkSurvives(t, oid);
  },
);

test.serial(
  "the tool's own views over a table (analytics marts) never block: a load recreates them",
  async (t) => {
    t.teardown(dropReader);
    await db().query(sql`DROP VIEW public.patient_births`);
    await rebuildViewTables(db(), [viewTable(compileView(olderPatientView()), 'fhir')], { cascade: true });
    await db().query(sql`CREATE SCHEMA IF NOT EXISTS analytics`);
    await db().query(
      sql`CREATE VIEW analytics.member_births AS SELECT _source, id, birth_date FROM fhir.patient`,
    );
    await db().query(
      sql`INSERT INTO fhir_etl.owned_views (view_schema, view_name) VALUES ('analytics', 'member_births')`,
    );
    const result = await load('--source', 'a', await patientsFile(['p5']));
    t.is(result.code, 0, result.stderr);
    const [mart] = await db().query(sql`
    SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
    WHERE attrelid = 'analytics.member_births'::regclass AND attname = 'birth_date'`);
    t.is(mart.type, 'date', 'recreated over the migrated table');
  },
);
