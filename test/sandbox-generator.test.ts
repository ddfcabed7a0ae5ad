import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { generateMembers, TEST_MEMBERS, writeNdjson } from '../sandbox/index.ts';
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
