import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import test from 'ava';
import { loadPaths } from '../pipeline/load.ts';
import { configuredViews } from '../pipeline/views.ts';
import type { CompiledView } from '../transforms/index.ts';
import { hasSynthea, SYNTHEA_DIR } from './helpers/fixtures.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

// Issue 11, must show: 10,000 Synthea resources with 50 bad values of the kinds seen scattered
// through them load every resource into fhir_raw, every view row exactly once, and 50 value
// errors naming line, id, view and column. The same file without the bad values is loaded
// under another source as the reference.

const warehouse = useTestWarehouse(test);
const dir = mkdtempSync(join(tmpdir(), 'fhir-etl-synthea-bad-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

type Resource = Record<string, unknown> & { resourceType: string; id: string };

/** Where each kind of bad value goes: the type, how it spoils a resource, the view and column it lands in. */
const SPOILERS = [
  {
    type: 'Patient',
    view: 'patient',
    column: 'birth_date',
    spoil: (r: Resource) => (r.birthDate = '1970-02-30'),
  },
  {
    type: 'Patient',
    view: 'patient',
    column: 'birth_date',
    spoil: (r: Resource) => (r.birthDate = '1970-13-01'),
  },
  {
    type: 'Patient',
    view: 'patient',
    column: 'birth_date',
    spoil: (r: Resource) => (r.birthDate = 'not-a-date'),
  },
  { type: 'Patient', view: 'patient', column: 'active', spoil: (r: Resource) => (r.active = 'yes') },
  {
    type: 'MedicationRequest',
    view: 'medication_request',
    column: 'refills_allowed',
    spoil: (r: Resource) =>
      (r.dispenseRequest = { ...(r.dispenseRequest as object), numberOfRepeatsAllowed: 1.5 }),
  },
  {
    type: 'MedicationRequest',
    view: 'medication_request',
    column: 'refills_allowed',
    spoil: (r: Resource) =>
      (r.dispenseRequest = { ...(r.dispenseRequest as object), numberOfRepeatsAllowed: 3000000000 }),
  },
  {
    type: 'Encounter',
    view: 'encounter',
    column: 'period_start',
    spoil: (r: Resource) => (r.period = { ...(r.period as object), start: '2023-02-29T10:00:00Z' }),
  },
  {
    type: 'Condition',
    view: 'condition',
    column: 'recorded_date',
    spoil: (r: Resource) => (r.recordedDate = '2021-04-31'),
  },
];

function read(type: string): Resource[] {
  return readFileSync(join(SYNTHEA_DIR, `${type}.ndjson`), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Resource);
}

/** 10,000 resources of four types, shuffled by a fixed stride so each type is spread through the file. */
function tenThousand(): Resource[] {
  const pool = [
    ...read('Patient'),
    ...read('MedicationRequest'),
    ...read('Condition'),
    ...read('Encounter'),
    ...read('Observation'),
  ];
  const picked = pool.slice(0, 10_000);
  const spread: Resource[] = [];
  for (let start = 0; start < 7; start++)
    for (let i = start; i < picked.length; i += 7) spread.push(picked[i] as Resource);
  return spread;
}

test('10,000 Synthea resources with 50 bad values: every resource, every view row once, 50 recorded values', async (t) => {
  if (!hasSynthea) {
    t.pass('the Synthea fixtures (../shared) are not here');
    return;
  }
  const resources = tenThousand();
  t.is(resources.length, 10_000);
  const spoiled = structuredClone(resources);
  const expected: Array<{ line: number; id: string; view: string; column: string }> = [];
  // 50 bad values, round-robin over the kinds, each on a different resource of its type.
  const used = new Set<number>();
  for (let k = 0; expected.length < 50; k++) {
    const spoiler = SPOILERS[k % SPOILERS.length] as (typeof SPOILERS)[number];
    const index = spoiled.findIndex(
      (r, i) => r.resourceType === spoiler.type && !used.has(i) && i % 3 === k % 3,
    );
    used.add(index);
    spoiler.spoil(spoiled[index] as Resource);
    expected.push({
      line: index + 1,
      id: (spoiled[index] as Resource).id,
      view: spoiler.view,
      column: spoiler.column,
    });
  }
  const clean = join(dir, 'clean.ndjson');
  const bad = join(dir, 'bad.ndjson');
  writeFileSync(clean, `${resources.map((r) => JSON.stringify(r)).join('\n')}\n`);
  writeFileSync(bad, `${spoiled.map((r) => JSON.stringify(r)).join('\n')}\n`);
  const views = await configuredViews();
  const load = (path: string, source: string) =>
    loadPaths(warehouse.db, { paths: [path], source, concurrency: 1, maxLineBytes: 1 << 24, views });
  const reference = await load(clean, 'clean');
  t.is(reference.valueErrors ?? 0, 0);
  const summary = await load(bad, 'bad');
  t.is(summary.status, 'succeeded', JSON.stringify(summary.outcomes));
  t.is(summary.rejects, 0);
  t.is(summary.resources, 10_000);
  t.is(summary.valueErrors, 50);
  // Every resource in fhir_raw, every view row exactly once: the same rows as the clean file.
  t.deepEqual(await rowCounts(views, 'bad'), await rowCounts(views, 'clean'));
  const recorded = await warehouse.db.query(sql`
    SELECT line::int, resource_id AS id, view_name AS view, column_name AS column, file FROM fhir_etl.value_errors
    WHERE source = 'bad' ORDER BY line, column_name`);
  t.deepEqual(
    recorded.map(({ file: _file, ...rest }) => rest),
    [...expected].sort((a, b) => a.line - b.line || a.column.localeCompare(b.column)),
  );
  t.true(recorded.every((r) => r.file === bad));
  // Each bad cell is NULL; the reference has a value there.
  for (const e of expected) {
    const [row] = await warehouse.db.query(
      sql`SELECT ${sql.ident(e.column)} AS cell FROM ${sql.ident('fhir', e.view)} WHERE _source = 'bad' AND _resource_id = ${e.id}`,
    );
    t.is(row.cell, null, `${e.view}.${e.column} of ${e.id}`);
  }
});

async function rowCounts(views: CompiledView[], source: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const view of views) {
    const [row] = await warehouse.db.query(
      sql`SELECT count(*)::int AS n FROM ${sql.ident('fhir', view.name)} WHERE _source = ${source}`,
    );
    counts[view.name] = row.n;
  }
  for (const table of ['patient', 'medication_request', 'condition', 'encounter', 'observation']) {
    const [row] = await warehouse.db.query(
      sql`SELECT count(*)::int AS n FROM ${sql.ident('fhir_raw', table)} WHERE source = ${source}`,
    );
    counts[`fhir_raw.${table}`] = row.n;
  }
  return counts;
}
