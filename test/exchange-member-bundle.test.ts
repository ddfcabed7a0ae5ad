import test from 'ava';
import {
  CONSENT_POLICY_URI,
  type ExchangeMember,
  memberBundle,
  type MatchRequester,
} from '../connectors/member-match/index.ts';
import { memberBundleViolations } from './helpers/profile-check.ts';

/**
 * The MemberBundles fhir-etl builds hold what the HRex profiles require (their required
 * elements, cardinalities, fixed values, bindings and invariants, copied into
 * test/fixtures/hrex/member-bundle-profiles.json from the IGs' profile sources), and the check
 * itself catches a bundle that does not.
 */

const requester: MatchRequester = {
  payer: { system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567893', name: 'New Health Plan' },
  consentDocument: (id) => `https://new-plan.example.org/fhir/DocumentReference/consent-${id}`,
};

const minimal: ExchangeMember = {
  memberId: 'NEW-1',
  given: ['Ana'],
  family: 'Lopez',
  birthDate: '1980-02-03',
  gender: 'female',
  oldMemberId: 'MB00000012',
  oldPayer: { system: 'http://hl7.org/fhir/sid/us-npi', value: '1987654320', name: 'Old Plan' },
  relationship: 'self',
  consent: { policy: 'all', start: '2026-01-01', end: '2026-12-31' },
};

const complete: ExchangeMember = {
  ...minimal,
  given: ['Ana', 'Maria'],
  gender: 'unknown',
  address: { line: ['1 Main St'], city: 'Boston', state: 'MA', postalCode: '02116' },
  oldSubscriberId: 'SUB-77',
  oldPlanId: 'HMO-GOLD',
  oldGroupId: 'G-10001',
  oldCoverageStart: '2019-01-01',
  oldCoverageEnd: '2025-12-31',
  relationship: 'child',
  coverageStart: '2026-01-01',
  consent: { policy: 'non-sensitive', start: '2026-01-01', end: '2026-03-31' },
};

const bundle = (member: ExchangeMember) => memberBundle(member, 'm-0123', requester);

test('a MemberBundle with only the required member fields satisfies the HRex profiles', (t) => {
  t.deepEqual(memberBundleViolations(bundle(minimal)), []);
});

test('a MemberBundle with every optional member field satisfies the HRex profiles', (t) => {
  t.deepEqual(memberBundleViolations(bundle(complete)), []);
});

test('the consent policy is the HRex URI: #sensitive for all data, #regular for non-sensitive only', (t) => {
  const policyOf = (member: ExchangeMember) =>
    (bundle(member).part?.find((p) => p.name === 'Consent')?.resource?.policy as Array<{ uri: string }>)[0]
      ?.uri;
  t.is(policyOf(minimal), CONSENT_POLICY_URI.all);
  t.true(policyOf(minimal)?.endsWith('#sensitive'));
  t.true(policyOf(complete)?.endsWith('#regular'));
});

test('the check catches a bundle that breaks the profiles', (t) => {
  const broken = (edit: (parts: Record<string, Record<string, unknown>>) => void) => {
    const b = structuredClone(bundle(complete));
    edit(Object.fromEntries((b.part ?? []).map((p) => [p.name, p.resource as Record<string, unknown>])));
    return memberBundleViolations(b);
  };
  t.deepEqual(
    broken((p) => delete p.MemberPatient?.birthDate),
    ['MemberPatient (hrex-patient-demographics): birthDate: 0 found, 1..1 required'],
  );
  t.deepEqual(
    broken((p) => delete p.MemberPatient?.gender),
    [
      'MemberPatient (hrex-patient-demographics): invariant hrex-pat-1 fails: ' +
        "gender.exists() or extension('http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex').exists()",
    ],
  );
  t.deepEqual(
    broken((p) => {
      (p.Consent?.provision as Record<string, unknown>).securityLabel = [{ code: 'R' }];
      delete ((p.Consent?.provision as Record<string, unknown>).period as Record<string, unknown>).end;
    }),
    [
      'Consent (hrex-consent): provision.period.end: 0 found, 1..1 required',
      'Consent (hrex-consent): provision.securityLabel: 1 found, 0..0 required',
    ],
  );
  t.deepEqual(
    broken((p) => {
      (p.Consent as Record<string, unknown>).policy = [{ uri: 'http://example.org/policy' }];
    }),
    ['Consent (hrex-consent): policy (slice): 0 found, 1..1 required'],
  );
  t.deepEqual(
    broken((p) => {
      const coverage = p.CoverageToMatch as Record<string, unknown>;
      delete coverage.identifier;
      delete coverage.subscriberId;
      delete coverage.relationship;
    }),
    [
      'CoverageToMatch (hrex-coverage): relationship: 0 found, 1..1 required',
      'CoverageToMatch (hrex-coverage): invariant us-core-15 fails: ' +
        "identifier.type.coding.where(system='http://terminology.hl7.org/CodeSystem/v2-0203' and code='MB').exists() or subscriberId.exists()",
    ],
  );
  const withoutConsent = structuredClone(bundle(minimal));
  withoutConsent.part = withoutConsent.part?.filter((p) => p.name !== 'Consent');
  t.deepEqual(memberBundleViolations(withoutConsent), ['part Consent: 0 found, 1..1 required']);
});
