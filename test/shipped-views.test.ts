import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { shippedViewsDir } from '../schemas/index.ts';
import { compileView, parseViewDefinition } from '../transforms/index.ts';
import { projectPath } from './helpers/project.ts';

/**
 * The shipped analytics views (schemas/views/*.json): shape rules every view must follow, and a run
 * over examples/sample (two Synthea patients plus hand-written CARIN BB / US Core resources,
 * built once by examples/sample/build.mjs) so that the tests need nothing outside the repo.
 */

const sampleDir = projectPath('examples', 'sample');
const FHIR_TYPES = new Set([
  'string',
  'id',
  'code',
  'uri',
  'integer',
  'decimal',
  'boolean',
  'date',
  'dateTime',
  'instant',
]);
/**
 * Views without a patient_id column: the patient table itself (its key is id) and the directory
 * tables, whose rows are not about one member. Every other view must have patient_id.
 */
const NOT_PATIENT_LINKED = new Set(['patient', 'practitioner', 'organization']);
/** Child views (forEach) and the column that holds their parent's key. */
const PARENT_KEY: Record<string, string> = {
  patient_identifier: 'patient_id',
  encounter_diagnosis: 'encounter_id',
  eob_item: 'eob_id',
  eob_diagnosis: 'eob_id',
  eob_procedure: 'eob_id',
  eob_supporting_info: 'eob_id',
};

interface ColumnJson {
  name: string;
  path: string;
  type?: string;
  collection?: boolean;
  description?: string;
}
interface SelectJson {
  column?: ColumnJson[];
  select?: SelectJson[];
  unionAll?: SelectJson[];
  forEach?: string;
  forEachOrNull?: string;
}
interface ViewJson {
  name: string;
  resource: string;
  status?: string;
  description?: string;
  select: SelectJson[];
}

const files = fs
  .readdirSync(shippedViewsDir)
  .filter((f) => f.endsWith('.json'))
  .sort();
const views = files.map((file) => {
  const origin = path.join(shippedViewsDir, file);
  const json = JSON.parse(fs.readFileSync(origin, 'utf8')) as ViewJson;
  return { file, origin, json };
});
const compiled = new Map(views.map((v) => [v.json.name, compileView(parseViewDefinition(v.json, v.origin))]));

function columnsOf(select: SelectJson[]): ColumnJson[] {
  return select.flatMap((s) => [
    ...(s.column ?? []),
    ...columnsOf(s.select ?? []),
    ...columnsOf(s.unionAll?.slice(0, 1) ?? []),
  ]);
}
function hasForEach(select: SelectJson[]): boolean {
  return select.some(
    (s) => s.forEach !== undefined || s.forEachOrNull !== undefined || hasForEach(s.select ?? []),
  );
}

type Resource = Record<string, unknown> & { resourceType: string; id: string };
const resources: Resource[] = fs
  .readdirSync(sampleDir)
  .filter((f) => f.endsWith('.ndjson'))
  .sort()
  .flatMap((f) =>
    fs
      .readFileSync(path.join(sampleDir, f), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Resource),
  );

/** Runs a compiled view over the whole sample and returns its rows as objects keyed by column name. */
function run(name: string): Record<string, unknown>[] {
  const view = compiled.get(name);
  if (view === undefined) throw new Error(`no shipped view named ${name}`);
  const names = view.columns.map((c) => c.name);
  return resources
    .filter((r) => r.resourceType === view.resource)
    .flatMap((r) => view.emit(r))
    .map((row) => Object.fromEntries(names.map((n, i) => [n, row[i]])));
}
const rowsOf = new Map<string, Record<string, unknown>[]>();
const rows = (name: string) => {
  let r = rowsOf.get(name);
  if (r === undefined) {
    r = run(name);
    rowsOf.set(name, r);
  }
  return r;
};

test('there are shipped views, one file per view named after it', (t) => {
  t.true(views.length >= 19);
  for (const { file, json } of views) t.is(file, `${json.name}.json`, file);
});

test('every shipped view parses and compiles', (t) => {
  for (const { json } of views) {
    const view = compiled.get(json.name);
    t.truthy(view, json.name);
    t.is(view?.resource, json.resource);
    t.deepEqual(
      view?.columns.map((c) => c.name),
      columnsOf(json.select).map((c) => c.name),
      `${json.name}: compiled columns follow the definition`,
    );
  }
});

test('view names are unique snake_case table names, and every view is active and described', (t) => {
  const names = views.map((v) => v.json.name);
  t.is(new Set(names).size, names.length);
  for (const { json } of views) {
    t.regex(json.name, /^[a-z][a-z0-9_]*$/, json.name);
    t.is(json.status, 'active', json.name);
    t.true((json.description ?? '').length > 20, `${json.name} has a description`);
  }
});

test('every column has a description and an explicit FHIR type, and column names are snake_case', (t) => {
  for (const { json } of views) {
    const cols = columnsOf(json.select);
    t.is(new Set(cols.map((c) => c.name)).size, cols.length, `${json.name}: column names are unique`);
    for (const c of cols) {
      const where = `${json.name}.${c.name}`;
      t.regex(c.name, /^[a-z][a-z0-9_]*$/, where);
      t.true((c.description ?? '').trim().length > 5, `${where} has a description`);
      t.true(c.type !== undefined && FHIR_TYPES.has(c.type), `${where} has a supported type (${c.type})`);
      if (c.collection) t.regex(c.description ?? '', /list/i, `${where} is a collection and says so`);
    }
  }
});

test('top-level views start with id = getResourceKey(); child views carry their parent key', (t) => {
  for (const { json } of views) {
    const cols = columnsOf(json.select);
    const parentKey = PARENT_KEY[json.name];
    if (hasForEach(json.select)) {
      t.truthy(parentKey, `${json.name} uses forEach and is listed as a child view`);
      t.is(cols.find((c) => c.name === parentKey)?.path, 'getResourceKey()', `${json.name}.${parentKey}`);
    } else {
      t.is(parentKey, undefined, json.name);
      t.is(cols[0]?.name, 'id', `${json.name} starts with id`);
      t.is(cols[0]?.path, 'getResourceKey()', `${json.name}.id`);
    }
  }
});

test('every patient-linked view has a patient_id column from a patient key', (t) => {
  for (const { json } of views) {
    if (NOT_PATIENT_LINKED.has(json.name)) continue;
    const col = columnsOf(json.select).find((c) => c.name === 'patient_id');
    t.truthy(col, `${json.name} has patient_id`);
    t.regex(
      col?.path ?? '',
      /^(getResourceKey\(\)|.*getReferenceKey\(Patient\))$/,
      `${json.name}.patient_id`,
    );
  }
});

test('every reference column uses getReferenceKey, so joins work on relative, absolute and urn:uuid references', (t) => {
  for (const { json } of views) {
    for (const c of columnsOf(json.select)) {
      const where = `${json.name}.${c.name}`;
      t.false(/\.reference\b(?!\.value)/.test(c.path), `${where} does not read Reference.reference directly`);
      if (/get(Reference|Resource)Key\(/.test(c.path))
        t.regex(c.name, /^(id|.+_id)$/, `${where} is a key column named id or *_id`);
    }
  }
});

test('over the sample data every view emits rows', (t) => {
  for (const { json } of views) t.true(rows(json.name).length > 0, `${json.name} emits rows`);
});

test('every patient_id found in the sample joins to patient.id', (t) => {
  const patientIds = new Set(rows('patient').map((r) => r.id));
  t.is(patientIds.size, resources.filter((r) => r.resourceType === 'Patient').length);
  for (const { json } of views) {
    if (NOT_PATIENT_LINKED.has(json.name)) continue;
    const ids = rows(json.name).map((r) => r.patient_id);
    t.true(
      ids.length > 0 && ids.every((id) => patientIds.has(id)),
      `${json.name}: all patient_id values are patient ids`,
    );
  }
});

test('eob_item has one row per claim line, and claim child tables join to explanation_of_benefit', (t) => {
  const claims = resources.filter(
    (r) => r.resourceType === 'ExplanationOfBenefit' && r.use !== 'preauthorization',
  );
  const lines = claims.reduce((n, r) => n + ((r.item as unknown[] | undefined)?.length ?? 0), 0);
  t.is(rows('eob_item').length, lines);
  t.is(rows('explanation_of_benefit').length, claims.length);
  const eobIds = new Set(rows('explanation_of_benefit').map((r) => r.id));
  for (const child of ['eob_item', 'eob_diagnosis', 'eob_procedure', 'eob_supporting_info']) {
    t.true(
      rows(child).every((r) => eobIds.has(r.eob_id)),
      `${child}.eob_id joins to explanation_of_benefit.id`,
    );
  }
});

test('prior authorizations are kept apart from claims', (t) => {
  const pa = rows('prior_authorization');
  t.deepEqual(
    pa.map((r) => r.use),
    pa.map(() => 'preauthorization'),
  );
  const claimIds = new Set(rows('explanation_of_benefit').map((r) => r.id));
  t.true(pa.every((r) => !claimIds.has(r.id)));
  t.false(rows('explanation_of_benefit').some((r) => r.use === 'preauthorization'));
  t.false(rows('eob_item').some((r) => r.eob_id === 'carin-prior-auth-1'));
});

test('a financial CARIN inpatient claim flattens its header, totals, DRG and admission', (t) => {
  const eob = rows('explanation_of_benefit').find((r) => r.id === 'carin-eob-inpatient-1');
  t.like(eob, {
    patient_id: 'carin-patient-1',
    claim_identifier: 'CLM-2024-000917',
    claim_type: 'institutional',
    claim_subtype: 'inpatient',
    is_financial: true,
    insurer_id: 'carin-payer-1',
    provider_id: 'carin-hospital-1',
    focal_coverage_id: 'carin-coverage-1',
    pre_auth_ref: 'PA-2024-0042',
    payment_type: 'paid',
    total_submitted_amount: 10250.5,
    total_allowed_amount: 6800,
    total_paid_amount: 6180,
    total_deductible_amount: 500,
    total_copay_amount: 20,
    total_coinsurance_amount: 100,
    total_member_liability_amount: 620,
    principal_diagnosis_code: 'J18.9',
    admitting_diagnosis_code: 'R50.9',
    drg_code: '194',
    type_of_bill: '0111',
    network_status: 'innetwork',
    attending_practitioner_id: 'carin-practitioner-1',
  });
  t.truthy(eob?.admission_start);
  const lines = rows('eob_item').filter((r) => r.eob_id === 'carin-eob-inpatient-1');
  t.like(
    lines.find((r) => r.sequence === 2),
    {
      revenue_code: '0410',
      service_code: '94660',
      modifiers: '59,GO',
      submitted_amount: 1250.5,
      allowed_amount: 800,
      paid_amount: 780,
      copay_amount: 20,
      diagnosis_sequence: 1,
    },
  );
  const dx = rows('eob_diagnosis').filter((r) => r.eob_id === 'carin-eob-inpatient-1');
  t.like(
    dx.find((r) => r.sequence === 1),
    { code: 'J18.9', type: 'principal', on_admission: 'Y' },
  );
  t.like(
    rows('eob_procedure').find((r) => r.eob_id === 'carin-eob-inpatient-1'),
    { code: '5A09357', type: 'principal' },
  );
});

test('a -Basis (non-financial) EOB is flagged and has no amounts', (t) => {
  const eob = rows('explanation_of_benefit').find((r) => r.id === 'carin-eob-professional-basis-1');
  t.like(eob, {
    is_financial: false,
    total_paid_amount: null,
    total_submitted_amount: null,
    principal_diagnosis_code: 'J18.9',
  });
  t.like(
    rows('eob_item').find((r) => r.eob_id === 'carin-eob-professional-basis-1'),
    {
      place_of_service_code: '11',
      service_code: '99214',
      paid_amount: null,
    },
  );
});

test('patient flattens US Core race, ethnicity, birth sex, member id and the current address', (t) => {
  t.like(
    rows('patient').find((r) => r.id === 'carin-patient-1'),
    {
      member_id: 'M000123401',
      mrn: 'MRN-5561',
      family_name: 'Miller',
      given_name: 'Aiko Jane',
      birth_sex: 'F',
      race_omb_code: '2106-3',
      race_omb_codes: '2106-3,2028-9',
      ethnicity_omb_code: '2186-5',
      deceased: false,
      city: 'Pittsburgh',
      address_line: '22 Maple Street, Apt 4',
      phone: '(412) 555-0199',
      preferred_language: 'ja',
    },
  );
});

test('Synthea urn:uuid references still join, and encounters get their attending practitioner', (t) => {
  const synthea = rows('encounter').filter((r) => !String(r.id).startsWith('carin-'));
  t.true(synthea.length > 0);
  t.true(
    synthea.every((r) => typeof r.patient_id === 'string' && typeof r.attending_practitioner_id === 'string'),
  );
  t.like(
    rows('encounter').find((r) => r.id === 'carin-encounter-1'),
    {
      attending_practitioner_id: 'carin-practitioner-1',
      class_code: 'IMP',
      discharge_disposition_code: '01',
    },
  );
});
