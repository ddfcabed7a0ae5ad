import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import test from 'ava';
import { isTopLevel, viewTable } from '../loaders/index.ts';
import { configuredViews } from '../pipeline/views.ts';
import { writeNdjson } from '../sandbox/index.ts';
import { runMain } from './helpers/main.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';
import { projectPath } from './helpers/project.ts';

/**
 * Keys BI tools understand: (_source, id) is the primary key of every top-level view table,
 * child tables are indexed on (_source, _resource_id), and the docs' joins include _source, so
 * a member sent by two sources counts once in each.
 */
const warehouse = useTestWarehouse(test);
const SOURCES = ['provider', 'payer'];
let data = '';

/** The same members, claims and all, loaded by two sources (as a Provider Access and a Payer-to-Payer feed may). */
test.serial.beforeEach(async () => {
  if (data) return;
  const folder = await mkdtemp(join(tmpdir(), 'fhir-etl-keys-'));
  await writeNdjson(folder, { patients: 8, seed: 3 });
  for (const source of SOURCES) {
    const loaded = await runMain(['load', '--database-url', warehouse.url, '--source', source, folder]);
    if (loaded.code !== 0) throw new Error(`load failed: ${loaded.stderr}`);
  }
  data = folder;
});

test.serial(
  'every top-level view table has the primary key (_source, id); child tables an index on (_source, _resource_id)',
  async (t) => {
    const tables = (await configuredViews()).map((view) => viewTable(view, 'fhir'));
    const keys: Array<{ table: string; columns: string[] }> = await warehouse.db.query(sql`
    SELECT c.conrelid::regclass::text AS table, array_agg(a.attname::text ORDER BY k.ord) AS columns
    FROM pg_constraint c
    CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
    WHERE c.contype = 'p' AND c.connamespace = 'fhir'::regnamespace
    GROUP BY 1`);
    const keyOf = new Map(keys.map((k) => [k.table, k.columns]));
    const indexed: Array<{ table: string }> = await warehouse.db.query(sql`
    SELECT tablename AS table FROM pg_indexes
    WHERE schemaname = 'fhir' AND indexdef LIKE '%(_source, _resource_id)'`);
    const topLevel = tables.filter(isTopLevel).map((table) => table.table);
    t.is(topLevel.length, 13);
    for (const table of tables) {
      const name = `fhir.${table.table}`;
      if (topLevel.includes(table.table)) t.deepEqual(keyOf.get(name), ['_source', 'id'], name);
      else t.is(keyOf.get(name), undefined, `${name} has many rows per resource: no primary key`);
      t.true(
        indexed.some((row) => row.table === table.table),
        `${name} is indexed on (_source, _resource_id)`,
      );
    }
  },
);

test.serial(
  "the docs' paid amount per member per year gives each source the truth, not the sum of both",
  async (t) => {
    const truth = new Map<string, { claims: number; paid: number | null }>();
    for (const eob of resources('ExplanationOfBenefit')) {
      if (eob.use === 'preauthorization' || eob.status !== 'active') continue;
      const patient = String((eob.patient as { reference: string }).reference).replace('Patient/', '');
      const year = String((eob.billablePeriod as { start: string }).start).slice(0, 4);
      const benefit = (
        (eob.total ?? []) as Array<{
          category: { coding: Array<{ code: string }> };
          amount: { value: number };
        }>
      ).find((total) => total.category.coding.some((coding) => coding.code === 'benefit'));
      const key = `${patient} ${year}`;
      const sum = truth.get(key) ?? { claims: 0, paid: null };
      sum.claims++;
      if (benefit) sum.paid = (sum.paid ?? 0) + benefit.amount.value;
      truth.set(key, sum);
    }
    const rows: Array<{
      _source: string;
      patient_id: string;
      year: number;
      claims: number;
      paid: string | null;
    }> = await warehouse.db.query(sql.__dangerous__rawValue(docsExample('Paid amount per member per year')));
    for (const source of SOURCES) {
      const got = Object.fromEntries(
        rows
          .filter((row) => row._source === source)
          .map((row) => [
            `${row.patient_id} ${row.year}`,
            { claims: Number(row.claims), paid: row.paid === null ? null : round(Number(row.paid)) },
          ]),
      );
      const want = Object.fromEntries(
        [...truth].map(([key, sum]) => [
          key,
          { claims: sum.claims, paid: sum.paid === null ? null : round(sum.paid) },
        ]),
      );
      t.deepEqual(got, want, source);
    }
  },
);

test.serial('a second row for the same (_source, id) is refused by the key', async (t) => {
  const error = await t.throwsAsync(
    warehouse.db.query(
      sql`INSERT INTO fhir.patient (_source, _resource_id, _run_id, id) SELECT _source, id, _run_id, id FROM fhir.patient LIMIT 1`,
    ),
  );
  t.regex(error.message, /duplicate key value violates unique constraint "patient_pkey"/);
});

/** The ```sql block under the docs/tables.md paragraph that starts with `heading`. */
function docsExample(heading: string): string {
  const text = readFileSync(projectPath('docs', 'tables.md'), 'utf8');
  const start = text.indexOf(heading);
  const block = /```sql\n([\s\S]*?)```/.exec(text.slice(start));
  if (start < 0 || !block) throw new Error(`no example "${heading}" in docs/tables.md`);
  return (block[1] as string).trim().replace(/;$/, '');
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function resources(type: string): Array<Record<string, unknown>> {
  return readFileSync(join(data, `${type}.ndjson`), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}
