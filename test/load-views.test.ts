import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import test from 'ava';
import { rebuildViewTables, viewTable } from '../loaders/index.ts';
import { loadPaths } from '../pipeline/load.ts';
import { configuredViews } from '../pipeline/views.ts';
import { shippedViewsDir } from '../schemas/index.ts';
import { type CompiledView, compileView, parseViewDefinition } from '../transforms/index.ts';
import { hasSynthea, SAMPLE_DIR, SYNTHEA_DIR } from './helpers/fixtures.ts';
import { createTestWarehouse, type TestWarehouse } from './helpers/warehouse.ts';

let warehouse: TestWarehouse;
let views: CompiledView[];
const dir = mkdtempSync(join(tmpdir(), 'fhir-etl-views-'));
const sources = hasSynthea ? [SYNTHEA_DIR, SAMPLE_DIR] : [SAMPLE_DIR];

test.before(async () => {
  warehouse = await createTestWarehouse();
  views = await configuredViews();
  for (const [i, path] of sources.entries()) {
    const summary = await loadPaths(warehouse.db, {
      paths: [path],
      source: `src${i}`,
      concurrency: 2,
      maxLineBytes: 1 << 26,
      views,
    });
    if (summary.status !== 'succeeded' || summary.rejects > 0)
      throw new Error(JSON.stringify(summary.outcomes));
  }
});
test.after.always(async () => {
  await warehouse?.drop();
});

test('every patient_id in every patient-linked view joins to a patient row', async (t) => {
  const linked = views.filter((v) => v.columns.some((c) => c.name === 'patient_id'));
  t.true(linked.length >= 12);
  for (const view of linked) {
    const [row] = await warehouse.db.query(sql`
      SELECT count(*)::int AS rows, count(p.id)::int AS joined
      FROM ${sql.ident('fhir', view.name)} v
      LEFT JOIN fhir.patient p ON p.id = v.patient_id AND p._source = v._source
      WHERE v.patient_id IS NOT NULL AND v._source LIKE 'src%'`);
    t.is(row.joined, row.rows, `${view.name}: ${row.rows - row.joined} rows without a patient`);
  }
  const [eob] = await warehouse.db.query(sql`SELECT count(*)::int AS n FROM fhir.eob_item`);
  t.true(eob.n > 0);
});

test('eob_item has exactly one row per item of every loaded claim', async (t) => {
  for (const [i, path] of sources.entries()) {
    const items = new Map<string, number>();
    for (const line of readFileSync(join(path, 'ExplanationOfBenefit.ndjson'), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const eob = JSON.parse(line);
      if (eob.use !== 'preauthorization') items.set(eob.id, (eob.item ?? []).length);
    }
    const expected = [...items.values()].reduce((a, b) => a + b, 0);
    const [row] = await warehouse.db.query(
      sql`SELECT count(*)::int AS n FROM fhir.eob_item WHERE _source = ${`src${i}`}`,
    );
    t.is(row.n, expected, path);
  }
});

test('view tables have typed columns and the view descriptions as comments', async (t) => {
  const columns = await warehouse.db.query(sql`
    SELECT column_name, data_type, col_description('fhir.patient'::regclass, ordinal_position::int) AS comment
    FROM information_schema.columns WHERE table_schema = 'fhir' AND table_name = 'patient'`);
  type Column = { column_name: string; data_type: string; comment: string | null };
  const byName: Record<string, Column> = Object.fromEntries(columns.map((c: Column) => [c.column_name, c]));
  t.is(byName.birth_date?.data_type, 'date');
  t.is(byName._resource_id?.data_type, 'text');
  t.truthy(byName.birth_date?.comment);
  const [table] = await warehouse.db.query(sql`SELECT obj_description('fhir.eob_item'::regclass) AS comment`);
  t.regex(table.comment, /ExplanationOfBenefit/);
});

test.serial('a resource replaced in a later load keeps only its new rows in every view', async (t) => {
  const eobs = readFileSync(join(SAMPLE_DIR, 'ExplanationOfBenefit.ndjson'), 'utf8')
    .split('\n')
    .filter(Boolean);
  const withItems = eobs
    .map((l) => JSON.parse(l))
    .find((e) => (e.item ?? []).length >= 2 && e.use !== 'preauthorization');
  t.truthy(withItems);
  const before = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir.eob_item WHERE _source = 'replace' AND _resource_id = ${withItems.id}`,
  );
  t.is(before[0].n, 0);
  const first = join(dir, 'eob-v1.ndjson');
  writeFileSync(
    first,
    `${JSON.stringify({ ...withItems, meta: { lastUpdated: '2030-01-01T00:00:00Z' } })}\n`,
  );
  await loadPaths(warehouse.db, {
    paths: [first],
    source: 'replace',
    concurrency: 1,
    maxLineBytes: 1 << 26,
    views,
  });
  const loaded = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir.eob_item WHERE _source = 'replace' AND _resource_id = ${withItems.id}`,
  );
  t.is(loaded[0].n, withItems.item.length);

  const second = join(dir, 'eob-v2.ndjson');
  const fewer = {
    ...withItems,
    meta: { lastUpdated: '2030-02-01T00:00:00Z' },
    item: withItems.item.slice(0, 1),
  };
  writeFileSync(second, `${JSON.stringify(fewer)}\n`);
  const summary = await loadPaths(warehouse.db, {
    paths: [second],
    source: 'replace',
    concurrency: 1,
    maxLineBytes: 1 << 26,
    views,
  });
  const after = await warehouse.db.query(
    sql`SELECT count(*)::int AS n, max(_run_id)::int AS run FROM fhir.eob_item WHERE _source = 'replace' AND _resource_id = ${withItems.id}`,
  );
  t.is(after[0].n, 1);
  t.is(after[0].run, summary.runId);
  const headers = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir.explanation_of_benefit WHERE _source = 'replace' AND id = ${withItems.id}`,
  );
  t.is(headers[0].n, 1);
});

test.serial(
  'a resource whose evaluation fails is rejected naming the view and expression; the rest loads',
  async (t) => {
    const strict = compileView(
      parseViewDefinition(
        {
          resourceType: 'ViewDefinition',
          name: 'strict_given',
          resource: 'Patient',
          select: [
            {
              column: [
                { name: 'id', path: 'getResourceKey()' },
                { name: 'given', path: 'name.given' },
              ],
            },
          ],
        },
        'strict_given.json',
      ),
    );
    const path = join(dir, 'patients.ndjson');
    writeFileSync(
      path,
      [
        { resourceType: 'Patient', id: 'one', name: [{ given: ['Ann'] }] },
        { resourceType: 'Patient', id: 'two', name: [{ given: ['Bo', 'Cy'] }] },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n'),
    );
    const summary = await loadPaths(warehouse.db, {
      paths: [path],
      source: 'strict',
      concurrency: 1,
      maxLineBytes: 1 << 20,
      views: [strict, ...views.filter((v) => v.name === 'patient')],
    });
    t.is(summary.status, 'succeeded');
    t.is(summary.rejects, 1);
    const [reject] = await warehouse.db.query(
      sql`SELECT line, resource_id, reason FROM fhir_etl.rejects WHERE run_id = ${summary.runId}`,
    );
    t.is(reject.resource_id, 'two');
    t.is(reject.line, 2);
    t.regex(reject.reason, /view strict_given, expression `name\.given`/);
    const strictRows = await warehouse.db.query(
      sql`SELECT id FROM fhir.strict_given WHERE _source = 'strict'`,
    );
    t.deepEqual(
      strictRows.map((r: { id: string }) => r.id),
      ['one'],
    );
    const patients = await warehouse.db.query(
      sql`SELECT id FROM fhir.patient WHERE _source = 'strict' ORDER BY id`,
    );
    t.deepEqual(
      patients.map((r: { id: string }) => r.id),
      ['one', 'two'],
    );
    const raw = await warehouse.db.query(
      sql`SELECT id FROM fhir_raw.patient WHERE source = 'strict' ORDER BY id`,
    );
    t.is(raw.length, 2);
  },
);

test.serial('a view whose columns changed is rebuilt from fhir_raw, never left mismatched', async (t) => {
  const patientView = views.find((v) => v.name === 'patient') as CompiledView;
  const narrower = compileView(
    parseViewDefinition(
      {
        ...patientView.definition,
        select: [
          {
            column: [
              { name: 'id', path: 'getResourceKey()', type: 'id' },
              { name: 'gender', path: 'gender', type: 'code' },
            ],
          },
        ],
      },
      'patient.json',
    ),
  );
  const path = join(dir, 'one-more.ndjson');
  writeFileSync(path, `${JSON.stringify({ resourceType: 'Patient', id: 'late', gender: 'female' })}\n`);
  await loadPaths(warehouse.db, {
    paths: [path],
    source: 'late',
    concurrency: 1,
    maxLineBytes: 1 << 20,
    views: [narrower],
  });
  const columns = await warehouse.db.query(sql`
    SELECT column_name FROM information_schema.columns WHERE table_schema = 'fhir' AND table_name = 'patient' ORDER BY ordinal_position`);
  t.deepEqual(
    columns.map((c: { column_name: string }) => c.column_name),
    ['_source', '_resource_id', '_run_id', 'id', 'gender'],
  );
  const [raw] = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir_raw.patient WHERE NOT deleted`,
  );
  const [rows] = await warehouse.db.query(sql`SELECT count(*)::int AS n FROM fhir.patient`);
  t.is(rows.n, raw.n);

  // And back: `rebuild` restores the shipped definition over every source.
  const [result] = await rebuildViewTables(warehouse.db, [viewTable(patientView, 'fhir')]);
  t.is(result?.rows, raw.n);
  const [restored] = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir.patient WHERE birth_date IS NOT NULL`,
  );
  t.true(restored.n > 0);
});

test('view definitions in folders load with the shipped ones; a duplicate name is refused', async (t) => {
  const own = mkdtempSync(join(tmpdir(), 'fhir-etl-own-views-'));
  writeFileSync(
    join(own, 'my_gender.json'),
    JSON.stringify({
      resourceType: 'ViewDefinition',
      name: 'my_gender',
      resource: 'Patient',
      select: [{ column: [{ name: 'g', path: 'gender' }] }],
    }),
  );
  const all = await configuredViews([own]);
  t.true(all.some((v) => v.name === 'my_gender'));
  t.is(all.length, readdirSync(shippedViewsDir).length + 1);
  writeFileSync(
    join(own, 'patient.json'),
    JSON.stringify({ ...(views[0]?.definition ?? {}), name: 'patient' }),
  );
  await t.throwsAsync(configuredViews([own]), { message: /patient/ });
});
