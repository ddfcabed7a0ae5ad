import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import test from 'ava';
import { rebuildViewTables, viewTable } from '../loaders/index.ts';
import { type LoadSummary, loadPaths } from '../pipeline/load.ts';
import { type CompiledView, compileView, parseViewDefinition } from '../transforms/index.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

// Issue 11: a value its view column's PostgreSQL type cannot hold no longer fails the file
// (`date/time field value out of range: "1970-02-30"`, nothing committed) nor becomes NULL
// silently ("not-a-date", "active":"yes"): the resource lands in fhir_raw, its view row is
// written with the cell NULL, and the value is recorded in fhir_etl.value_errors.

const warehouse = useTestWarehouse(test);
const dir = mkdtempSync(join(tmpdir(), 'fhir-etl-values-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

function view(definition: unknown): CompiledView {
  return compileView(parseViewDefinition(definition));
}

const views = [
  view({
    resourceType: 'ViewDefinition',
    name: 'v_patient',
    resource: 'Patient',
    select: [
      {
        column: [
          { name: 'id', path: 'getResourceKey()', type: 'id' },
          { name: 'birth_date', path: 'birthDate', type: 'date' },
          { name: 'active', path: 'active', type: 'boolean' },
          { name: 'deceased_at', path: 'deceased.ofType(dateTime)', type: 'dateTime' },
        ],
      },
    ],
  }),
  view({
    resourceType: 'ViewDefinition',
    name: 'v_coverage',
    resource: 'Coverage',
    select: [
      {
        column: [
          { name: 'id', path: 'getResourceKey()', type: 'id' },
          { name: 'coverage_order', path: 'order', type: 'positiveInt' },
          { name: 'period_start', path: 'period.start', type: 'date' },
        ],
      },
    ],
  }),
  view({
    resourceType: 'ViewDefinition',
    name: 'v_medication_request',
    resource: 'MedicationRequest',
    select: [
      {
        column: [
          { name: 'id', path: 'getResourceKey()', type: 'id' },
          { name: 'repeats', path: 'dispenseRequest.numberOfRepeatsAllowed', type: 'unsignedInt' },
          { name: 'quantity', path: 'dispenseRequest.quantity.value', type: 'decimal' },
        ],
      },
    ],
  }),
];

/** Each "what was seen" value, with the cell it lands in and the words its reason must hold. */
const BAD = [
  {
    line: { resourceType: 'Patient', id: 'feb30', birthDate: '1970-02-30' },
    view: 'v_patient',
    column: 'birth_date',
    value: '1970-02-30',
    reason: 'day 30 does not exist in February 1970',
  },
  {
    line: { resourceType: 'Patient', id: 'month13', birthDate: '1970-13-01' },
    view: 'v_patient',
    column: 'birth_date',
    value: '1970-13-01',
    reason: 'month 13 does not exist',
  },
  {
    line: { resourceType: 'Patient', id: 'notadate', birthDate: 'not-a-date' },
    view: 'v_patient',
    column: 'birth_date',
    value: 'not-a-date',
    reason: 'not a FHIR dateTime',
  },
  {
    line: { resourceType: 'Patient', id: 'yes', active: 'yes' },
    view: 'v_patient',
    column: 'active',
    value: 'yes',
    reason: 'not a boolean',
  },
  {
    line: { resourceType: 'Patient', id: 'leapless', deceasedDateTime: '2023-02-29T10:00:00Z' },
    view: 'v_patient',
    column: 'deceased_at',
    value: '2023-02-29T10:00:00Z',
    reason: 'day 29 does not exist in February 2023',
  },
  {
    line: { resourceType: 'Patient', id: 'nozone', deceasedDateTime: '2023-02-01T10:00:00' },
    view: 'v_patient',
    column: 'deceased_at',
    value: '2023-02-01T10:00:00',
    reason: 'time zone',
  },
  {
    line: { resourceType: 'Coverage', id: 'order3g', order: 3000000000 },
    view: 'v_coverage',
    column: 'coverage_order',
    value: '3000000000',
    reason: "outside PostgreSQL's integer range",
  },
  {
    line: { resourceType: 'Coverage', id: 'year0', period: { start: '0000-01-01' } },
    view: 'v_coverage',
    column: 'period_start',
    value: '0000-01-01',
    reason: 'year 0000',
  },
  {
    line: {
      resourceType: 'MedicationRequest',
      id: 'repeats15',
      dispenseRequest: { numberOfRepeatsAllowed: 1.5 },
    },
    view: 'v_medication_request',
    column: 'repeats',
    value: '1.5',
    reason: 'not a whole number',
  },
  {
    line: {
      resourceType: 'MedicationRequest',
      id: 'qtytext',
      dispenseRequest: { quantity: { value: '12,5' } },
    },
    view: 'v_medication_request',
    column: 'quantity',
    value: '12,5',
    reason: 'not a decimal number',
  },
];

const GOOD = [
  {
    resourceType: 'Patient',
    id: 'good1',
    birthDate: '1970-02-28',
    active: true,
    deceasedDateTime: '2024-02-29T23:59:60+14:00',
  },
  { resourceType: 'Patient', id: 'good2', birthDate: '2000-02' },
  {
    resourceType: 'Coverage',
    id: 'good3',
    order: 2147483647,
    period: { start: '2025-12-31T23:00:00-05:00' },
  },
  {
    resourceType: 'MedicationRequest',
    id: 'good4',
    dispenseRequest: { numberOfRepeatsAllowed: 3, quantity: { value: 1.5e3 } },
  },
];

function writeNdjson(name: string, resources: unknown[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${resources.map((r) => JSON.stringify(r)).join('\n')}\n`);
  return path;
}

async function load(path: string, source = 's'): Promise<LoadSummary> {
  return loadPaths(warehouse.db, { paths: [path], source, concurrency: 1, maxLineBytes: 1 << 20, views });
}

async function valueErrors(source: string) {
  return warehouse.db.query(sql`
    SELECT file, line::int, resource_type, resource_id, view_name, column_name, value, reason
    FROM fhir_etl.value_errors WHERE source = ${source} ORDER BY resource_id, column_name`);
}

// Bad lines first, good ones after: a bad value must not cost the lines beside it.
const resources = [...BAD.map((b) => b.line), ...GOOD];

for (const path of ['direct', 'staged'] as const) {
  test.serial(
    `every "what was seen" value is written NULL and recorded; the file loads (${path} path)`,
    async (t) => {
      const source = `seen-${path}`;
      if (path === 'staged') {
        // The ids exist already (with good values): this file's copies are staged and merged.
        const earlier = resources.map((r) => ({ ...r, meta: { lastUpdated: '2020-01-01T00:00:00Z' } }));
        const first = await load(writeNdjson(`${path}-earlier.ndjson`, stripBad(earlier)), source);
        t.is(first.valueErrors ?? 0, 0);
      }
      const file = writeNdjson(`${path}.ndjson`, resources);
      const summary = await load(file, source);
      t.is(summary.status, 'succeeded', JSON.stringify(summary.outcomes));
      t.is(summary.rejects, 0);
      t.is(summary.valueErrors, BAD.length);
      const [raw] = await warehouse.db.query(sql`
      SELECT (SELECT count(*)::int FROM fhir_raw.patient WHERE source = ${source}) AS patients,
             (SELECT count(*)::int FROM fhir_raw.coverage WHERE source = ${source}) AS coverages,
             (SELECT count(*)::int FROM fhir_raw.medication_request WHERE source = ${source}) AS requests`);
      t.deepEqual(raw, { patients: 8, coverages: 3, requests: 3 });
      // Every view row exactly once, the bad cell NULL.
      for (const bad of BAD) {
        const rows = await warehouse.db.query(
          sql`SELECT ${sql.ident(bad.column)} AS cell FROM ${sql.ident('fhir', bad.view)} WHERE _source = ${source} AND _resource_id = ${bad.line.id}`,
        );
        t.deepEqual(rows, [{ cell: null }], `${bad.line.id}`);
      }
      const recorded = await valueErrors(source);
      t.is(recorded.length, BAD.length);
      for (const bad of BAD) {
        const row = recorded.find((r) => r.resource_id === bad.line.id);
        t.like(row, {
          file,
          line: resources.indexOf(bad.line) + 1,
          resource_type: bad.line.resourceType,
          view_name: bad.view,
          column_name: bad.column,
          value: bad.value,
        });
        t.true(row?.reason.includes(bad.reason), `${bad.line.id}: ${row?.reason}`);
      }
      // The good values beside them landed as they should.
      const [good] = await warehouse.db.query(sql`
      SELECT birth_date::text, active, deceased_at AT TIME ZONE 'UTC' AS deceased_utc
      FROM fhir.v_patient WHERE _source = ${source} AND _resource_id = 'good1'`);
      t.deepEqual(good, {
        birth_date: '1970-02-28',
        active: true,
        deceased_utc: new Date('2024-02-29T10:00:00Z'),
      } as never);
      const [coverage] = await warehouse.db.query(
        sql`SELECT coverage_order, period_start::text FROM fhir.v_coverage WHERE _source = ${source} AND _resource_id = 'good3'`,
      );
      t.deepEqual(coverage, { coverage_order: 2147483647, period_start: '2025-12-31' });
    },
  );
}

function stripBad(list: Array<Record<string, unknown>>): unknown[] {
  return list.map((r) => ({ resourceType: r.resourceType, id: r.id, meta: r.meta }));
}

test.serial(
  'the same data loaded again records no value error twice; a fixed resource loses its error',
  async (t) => {
    const source = 'again';
    const bad = {
      resourceType: 'Patient',
      id: 'p1',
      birthDate: '1970-02-30',
      meta: { lastUpdated: '2024-01-01T00:00:00Z' },
    };
    const other = {
      resourceType: 'Patient',
      id: 'p2',
      active: 'yes',
      meta: { lastUpdated: '2024-01-01T00:00:00Z' },
    };
    await load(writeNdjson('again-1.ndjson', [bad, other]), source);
    // The same resources in another file (another key): nothing changed, nothing recorded again.
    const second = await load(writeNdjson('again-2.ndjson', [bad, other]), source);
    t.is(second.status, 'succeeded');
    t.is((await valueErrors(source)).length, 2);
    // A newer copy of p1 with a good date replaces its row and forgets its error; p2's stays.
    const fixed = { ...bad, birthDate: '1970-02-28', meta: { lastUpdated: '2024-02-01T00:00:00Z' } };
    await load(writeNdjson('again-3.ndjson', [fixed]), source);
    t.deepEqual(
      (await valueErrors(source)).map((r) => [r.resource_id, r.column_name]),
      [['p2', 'active']],
    );
    // A newer copy still bad in the same way: one error, not two.
    const worse = { ...bad, birthDate: '1970-13-01', meta: { lastUpdated: '2024-03-01T00:00:00Z' } };
    await load(writeNdjson('again-4.ndjson', [worse]), source);
    t.deepEqual(
      (await valueErrors(source)).map((r) => [r.resource_id, r.value]),
      [
        ['p1', '1970-13-01'],
        ['p2', 'yes'],
      ],
    );
  },
);

test.serial('a rebuild writes the same NULLs and records each bad value once', async (t) => {
  const before = await warehouse.db.query(
    sql`SELECT source, resource_id, column_name FROM fhir_etl.value_errors WHERE view_name = 'v_patient' ORDER BY 1, 2, 3`,
  );
  const [result] = await rebuildViewTables(warehouse.db, [viewTable(views[0] as CompiledView, 'fhir')]);
  t.is(result?.valueErrors, before.length);
  const after = await warehouse.db.query(
    sql`SELECT source, resource_id, column_name FROM fhir_etl.value_errors WHERE view_name = 'v_patient' ORDER BY 1, 2, 3`,
  );
  t.deepEqual(after, before);
  const [nulls] = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir.v_patient WHERE _resource_id = 'feb30' AND birth_date IS NULL`,
  );
  t.is(nulls.n, 2);
});
