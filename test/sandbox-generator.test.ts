import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { configuredViews } from '../pipeline/views.ts';
import { generateMembers, generateSharedResources, TEST_MEMBERS, writeNdjson } from '../sandbox/index.ts';
import { runCli } from './helpers/cli.ts';

/** The synthetic data: deterministic by seed, shaped for the shipped views, written by `sandbox generate`. */

const digest = (dir: string) => {
  const hash = createHash('sha256');
  for (const file of readdirSync(dir).sort()) hash.update(file).update(readFileSync(join(dir, file)));
  return hash.digest('hex');
};

test('the same seed writes byte-identical files; another seed does not', async (t) => {
  const [a, b, c] = [0, 1, 2].map(() => mkdtempSync(join(tmpdir(), 'fhir-etl-sandbox-gen-')));
  await writeNdjson(a!, { patients: 30, seed: 7 });
  await writeNdjson(b!, { patients: 30, seed: 7 });
  await writeNdjson(c!, { patients: 30, seed: 8 });
  t.is(digest(a!), digest(b!));
  t.not(digest(a!), digest(c!));
});

test('the four named 1up test members come first, with their published demographics', (t) => {
  const members = [...generateMembers({ patients: 6, seed: 3 })].slice(0, 4);
  t.deepEqual(
    members.map((m) => [m.member.memberId, m.member.name, m.member.birthDate, m.member.postalCode]),
    TEST_MEMBERS.map((m) => [m.memberId, `${m.given} ${m.family}`, m.birthDate, m.postalCode]),
  );
});

test('members carry US Core extensions, an MB member id, and CARIN EOBs of every profile, Basis and prior auth', (t) => {
  const profiles = new Set<string>();
  const uses = new Set<string>();
  for (const { member, resources } of generateMembers({ patients: 60, seed: 1 })) {
    const patient = resources.find((r) => r.resourceType === 'Patient')!;
    const extensions = (patient.extension as Array<{ url: string }>).map((e) => e.url.split('/').pop());
    t.deepEqual(extensions, ['us-core-race', 'us-core-ethnicity', 'us-core-birthsex']);
    const mb = (
      patient.identifier as Array<{ type: { coding: Array<{ code: string }> }; value: string }>
    ).find((i) => i.type.coding[0]!.code === 'MB');
    t.is(mb?.value, member.memberId);
    for (const r of resources) {
      t.truthy(r.meta.lastUpdated);
      if (r.resourceType !== 'ExplanationOfBenefit') continue;
      uses.add(r.use as string);
      for (const profile of r.meta.profile ?? []) profiles.add(profile.split('/').pop()!);
      t.is((r.patient as { reference: string }).reference, `Patient/${member.patientId}`);
    }
  }
  for (const profile of [
    'Inpatient-Institutional',
    'Outpatient-Institutional',
    'Professional-NonClinician',
    'Pharmacy',
    'Oral',
  ]) {
    t.true(profiles.has(`C4BB-ExplanationOfBenefit-${profile}`), profile);
    t.true(profiles.has(`C4BB-ExplanationOfBenefit-${profile}-Basis`), `${profile}-Basis`);
  }
  t.true(profiles.has('pdex-priorauthorization'));
  t.deepEqual([...uses].sort(), ['claim', 'preauthorization']);
});

/**
 * Columns of the shipped views that the generated data leaves null on purpose, with the reason.
 * Every other column must be non-null in at least one row over 50 patients.
 */
const NO_CODE_REFERENCE =
  'CARIN BB and PDex allow only a code here (diagnosis[x] / procedure[x]); references are Synthea-only';
const NOT_ON_AUTHORIZATION =
  'an authorization pays nothing: no payment, amounts, network status or bill-time codes';
const ALWAYS_NULL: Record<string, Record<string, string>> = {
  eob_diagnosis: { condition_id: NO_CODE_REFERENCE },
  eob_procedure: { procedure_id: NO_CODE_REFERENCE },
  explanation_of_benefit: { principal_diagnosis_condition_id: NO_CODE_REFERENCE },
  medication_request: {
    medication_id: 'medications are coded inline (medicationCodeableConcept), as US Core allows',
  },
  observation: {
    value_boolean: 'no generated US Core observation (vitals, labs, smoking status) has a boolean result',
  },
  prior_authorization: {
    carin_profile: 'prior authorizations claim the PDex profile, not a CARIN one',
    principal_diagnosis_condition_id: NO_CODE_REFERENCE,
    ...Object.fromEntries(
      [
        'payment_type',
        'payment_date',
        'payment_amount',
        'network_status',
        'drg_code',
        'drg_system',
        'type_of_bill',
        'discharge_status',
        ...[
          'submitted',
          'allowed',
          'paid',
          'deductible',
          'copay',
          'coinsurance',
          'noncovered',
          'member_liability',
          'paid_to_provider',
          'paid_to_patient',
          'paid_by_patient',
          'prior_payer_paid',
          'discount',
          'drug_cost',
        ].map((amount) => `total_${amount}_amount`),
      ].map((column) => [column, NOT_ON_AUTHORIZATION]),
    ),
  },
};

test('over 50 patients every shipped view column is filled in some row, except the documented allow-list', async (t) => {
  const views = await configuredViews();
  const filled = new Map(views.map((view) => [view.name, view.columns.map(() => false)]));
  const rows = new Map(views.map((view) => [view.name, 0]));
  const evaluate = (resource: Record<string, unknown>) => {
    for (const view of views) {
      if (view.resource !== resource.resourceType) continue;
      const seen = filled.get(view.name)!;
      for (const row of view.emit(resource)) {
        rows.set(view.name, rows.get(view.name)! + 1);
        row.forEach((value, i) => {
          if (value !== null && !(Array.isArray(value) && value.length === 0)) seen[i] = true;
        });
      }
    }
  };
  for (const { resources } of generateMembers({ patients: 50, seed: 1 })) resources.forEach(evaluate);
  generateSharedResources({ patients: 50, seed: 1 }).forEach(evaluate);
  const unexpected: string[] = [];
  const stale: string[] = [];
  for (const view of views) {
    t.true(rows.get(view.name)! > 0, `${view.name} has rows`);
    view.columns.forEach((column, i) => {
      const allowed = ALWAYS_NULL[view.name]?.[column.name] !== undefined;
      if (!filled.get(view.name)![i] && !allowed) unexpected.push(`${view.name}.${column.name}`);
      if (filled.get(view.name)![i] && allowed) stale.push(`${view.name}.${column.name}`);
    });
  }
  t.deepEqual(unexpected, [], 'columns always null');
  t.deepEqual(stale, [], 'allow-listed columns that are now filled: drop them from ALWAYS_NULL');
});

test('claims link to prior authorizations that exist, and pharmacy claims carry drug cost and discount', (t) => {
  let linked = 0;
  let pharmacy = 0;
  for (const { resources } of generateMembers({ patients: 50, seed: 1 })) {
    const eobs = resources.filter((r) => r.resourceType === 'ExplanationOfBenefit');
    const authorizations = new Set(
      eobs
        .filter((r) => r.use === 'preauthorization')
        .map((r) => (r.identifier as Array<{ value: string }>)[0]!.value),
    );
    for (const eob of eobs) {
      if (eob.use !== 'claim') continue;
      const refs = (eob.insurance as Array<{ preAuthRef?: string[] }>).flatMap((i) => i.preAuthRef ?? []);
      for (const ref of refs) {
        t.true(authorizations.has(ref), `${eob.id} names an authorization of the same member`);
        linked++;
      }
      const total = eob.total as Array<{
        category: { coding: Array<{ code: string }> };
        amount: { value: number };
      }>;
      if (!total || (eob.type as { coding: Array<{ code: string }> }).coding[0]!.code !== 'pharmacy')
        continue;
      const amount = (code: string) => total.find((x) => x.category.coding[0]!.code === code)?.amount.value;
      t.is(amount('drugcost'), amount('submitted'));
      t.is(amount('discount'), Math.round((amount('submitted')! - amount('eligible')!) * 100) / 100);
      pharmacy++;
    }
  }
  t.true(linked > 0);
  t.true(pharmacy > 0);
});

test('fhir-etl sandbox generate --out writes one NDJSON file per type', async (t) => {
  const out = join(mkdtempSync(join(tmpdir(), 'fhir-etl-sandbox-cli-')), 'data');
  const { code, stdout, stderr } = await runCli([
    'sandbox',
    'generate',
    '--out',
    out,
    '--patients',
    '8',
    '--seed',
    '5',
  ]);
  t.is(code, 0, stderr);
  t.regex(stdout, /ExplanationOfBenefit/);
  const files = readdirSync(out).sort();
  for (const type of [
    'Patient',
    'Encounter',
    'ExplanationOfBenefit',
    'Coverage',
    'Organization',
    'Location',
    'Practitioner',
  ]) {
    t.true(files.includes(`${type}.ndjson`), type);
  }
  t.is(readFileSync(join(out, 'Patient.ndjson'), 'utf8').trim().split('\n').length, 8);
});

test('fhir-etl sandbox refuses an unknown fault as a usage error', async (t) => {
  const { code, stderr } = await runCli(['sandbox', '--port', '0', '--faults', 'teapot']);
  t.is(code, 2);
  t.regex(stderr, /teapot/);
});
