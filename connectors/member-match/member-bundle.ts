import { createHash } from 'node:crypto';
import type { ConsentPolicy, ExchangeMember, PayerIdentity } from './member.ts';

/**
 * The resources a member is matched with, profiled as Da Vinci HRex asks: HRex Patient
 * Demographics (MemberPatient), HRex Coverage (CoverageToMatch: the prior coverage;
 * CoverageToLink: the coverage at this payer) and HRex Consent (the opt-in).
 *
 * @see HRex 1.1.0 StructureDefinition hrex-patient-demographics, hrex-coverage, hrex-consent
 * @see Da Vinci PDex 2.2.0 StructureDefinition pdex-parameters-multi-member-match-bundle-in
 */

export const HREX_PROFILE = {
  patient: 'http://hl7.org/fhir/us/davinci-hrex/StructureDefinition/hrex-patient-demographics',
  coverage: 'http://hl7.org/fhir/us/davinci-hrex/StructureDefinition/hrex-coverage',
  consent: 'http://hl7.org/fhir/us/davinci-hrex/StructureDefinition/hrex-consent',
} as const;

/**
 * The HRex Consent policy URIs (ValueSet hrex-consent-policy): `#regular` grants everything not
 * sensitive under state or federal law, `#sensitive` everything including sensitive data.
 */
export const CONSENT_POLICY_URI: Readonly<Record<ConsentPolicy, string>> = {
  'non-sensitive': 'http://hl7.org/fhir/us/davinci-hrex/StructureDefinition-hrex-consent.html#regular',
  all: 'http://hl7.org/fhir/us/davinci-hrex/StructureDefinition-hrex-consent.html#sensitive',
};

const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const COVERAGE_CLASS = 'http://terminology.hl7.org/CodeSystem/coverage-class';

/** A Parameters.parameter: a name and a value, a resource, or parts. */
export interface ParametersParameter {
  name: string;
  resource?: Record<string, unknown>;
  part?: ParametersParameter[];
  [value: string]: unknown;
}

/** What a MemberBundle (or a $member-match request) needs beyond the member: who asks, and where the consent is kept. */
export interface MatchRequester {
  /** This payer: the Consent's recipient, CoverageToLink's payor. */
  payer: PayerIdentity;
  /** Consent.sourceReference of a member: this payer's record of the signed opt-in. */
  consentDocument(memberId: string): string;
}

/**
 * The Patient.id a member is submitted under: opaque (the prior payer learns nothing of this
 * payer's ids) and stable, so the submitted Patient the prior payer echoes back in its Groups
 * finds its member again after a restart.
 */
export function submittedPatientId(source: string, memberId: string): string {
  return `m-${createHash('sha256').update(source).update('\u0000').update(memberId).digest('hex').slice(0, 24)}`;
}

/**
 * The parts of one member's request, in the order the profiles list them: MemberPatient,
 * CoverageToMatch, CoverageToLink, Consent. `patientId` is the submitted Patient.id the
 * coverages and the consent refer to.
 */
export function memberParts(
  member: ExchangeMember,
  patientId: string,
  requester: MatchRequester,
): ParametersParameter[] {
  return [
    { name: 'MemberPatient', resource: memberPatient(member, patientId) },
    { name: 'CoverageToMatch', resource: coverageToMatch(member, patientId) },
    { name: 'CoverageToLink', resource: coverageToLink(member, patientId, requester.payer) },
    { name: 'Consent', resource: consent(member, patientId, requester) },
  ];
}

/** One member of a $bulk-member-match request. @see PDex pdex-parameters-multi-member-match-bundle-in */
export function memberBundle(
  member: ExchangeMember,
  patientId: string,
  requester: MatchRequester,
): ParametersParameter {
  return { name: 'MemberBundle', part: memberParts(member, patientId, requester) };
}

/** HRex Patient Demographics: name (family, given), birthDate, gender, address. */
function memberPatient(member: ExchangeMember, id: string): Record<string, unknown> {
  const address = member.address;
  return {
    resourceType: 'Patient',
    id,
    meta: { profile: [HREX_PROFILE.patient] },
    name: [{ use: 'official', family: member.family, given: member.given }],
    gender: member.gender,
    birthDate: member.birthDate,
    ...(address && Object.values(address).some((v) => v !== undefined)
      ? { address: [{ use: 'home', ...compact(address) }] }
      : {}),
  };
}

/** HRex Coverage of the prior payer, as on the member's card: member id (MB), subscriber id, plan, group. */
function coverageToMatch(member: ExchangeMember, patientId: string): Record<string, unknown> {
  const classes = [
    member.oldGroupId === undefined ? undefined : coverageClass('group', member.oldGroupId),
    member.oldPlanId === undefined ? undefined : coverageClass('plan', member.oldPlanId),
  ].filter((c) => c !== undefined);
  const period = compact({ start: member.oldCoverageStart, end: member.oldCoverageEnd });
  return {
    resourceType: 'Coverage',
    id: `${patientId}-old`,
    meta: { profile: [HREX_PROFILE.coverage] },
    identifier: [memberIdentifier(member.oldMemberId)],
    status: 'active',
    ...(member.oldSubscriberId === undefined ? {} : { subscriberId: member.oldSubscriberId }),
    beneficiary: { reference: `Patient/${patientId}` },
    relationship: relationship(member.relationship),
    ...(Object.keys(period).length > 0 ? { period } : {}),
    payor: [organization(member.oldPayer)],
    ...(classes.length > 0 ? { class: classes } : {}),
  };
}

/**
 * HRex Coverage at this payer. HRex: "If the client invoking the operation is a payer, they
 * SHALL include their coverage information for the member".
 */
function coverageToLink(
  member: ExchangeMember,
  patientId: string,
  payer: PayerIdentity,
): Record<string, unknown> {
  return {
    resourceType: 'Coverage',
    id: `${patientId}-new`,
    meta: { profile: [HREX_PROFILE.coverage] },
    identifier: [memberIdentifier(member.memberId)],
    status: 'active',
    subscriberId: member.memberId,
    beneficiary: { reference: `Patient/${patientId}` },
    relationship: relationship(member.relationship),
    ...(member.coverageStart === undefined ? {} : { period: { start: member.coverageStart } }),
    payor: [organization(payer)],
  };
}

/**
 * HRex Consent: an active opt-in (scope patient-privacy, category IDSCL) permitting the prior
 * payer (actor role performer) to disclose to this payer (actor role IRCP) for the consent
 * period, under the member's policy (all data, or non-sensitive only).
 */
function consent(
  member: ExchangeMember,
  patientId: string,
  requester: MatchRequester,
): Record<string, unknown> {
  const patient = { reference: `Patient/${patientId}` };
  return {
    resourceType: 'Consent',
    id: `${patientId}-consent`,
    meta: { profile: [HREX_PROFILE.consent] },
    status: 'active',
    scope: concept('http://terminology.hl7.org/CodeSystem/consentscope', 'patient-privacy'),
    category: [concept('http://terminology.hl7.org/CodeSystem/v3-ActCode', 'IDSCL')],
    patient,
    performer: [patient],
    sourceReference: { reference: requester.consentDocument(member.memberId) },
    policy: [{ uri: CONSENT_POLICY_URI[member.consent.policy] }],
    provision: {
      type: 'permit',
      period: { start: member.consent.start, end: member.consent.end },
      actor: [
        {
          role: concept('http://terminology.hl7.org/CodeSystem/provenance-participant-type', 'performer'),
          reference: organization(member.oldPayer),
        },
        {
          role: concept('http://terminology.hl7.org/CodeSystem/v3-ParticipationType', 'IRCP'),
          reference: organization(requester.payer),
        },
      ],
      action: [concept('http://terminology.hl7.org/CodeSystem/consentaction', 'disclose')],
    },
  };
}

function memberIdentifier(value: string) {
  return { type: concept(V2_0203, 'MB'), value };
}

function coverageClass(type: 'group' | 'plan', value: string) {
  return { type: concept(COVERAGE_CLASS, type), value };
}

function relationship(code: string) {
  const system =
    code === 'unknown'
      ? 'http://terminology.hl7.org/CodeSystem/data-absent-reason'
      : 'http://terminology.hl7.org/CodeSystem/subscriber-relationship';
  return concept(system, code);
}

/** A payer as a logical reference: identifier and display (HRex Coverage.payor comment). */
function organization(payer: PayerIdentity) {
  return { identifier: { system: payer.system, value: payer.value }, display: payer.name };
}

function concept(system: string, code: string) {
  return { coding: [{ system, code }] };
}

function compact<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
