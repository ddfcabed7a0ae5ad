import {
  type Code,
  DENTAL,
  type Diagnosis,
  type Drug,
  type EncounterKind,
  MODIFIERS,
  type ProcedureCode,
  SYSTEM,
} from './codes.ts';
import { date, dateTime } from './time.ts';
import type { Rng } from './prng.ts';
import { coding, concept, type FhirResource, reference } from './resource.ts';

/**
 * CARIN Blue Button ExplanationOfBenefits of all five profiles (inpatient and outpatient
 * institutional, professional, pharmacy, oral), each either financial or Basis (non-financial:
 * no amounts), and PDex prior authorizations (`use = preauthorization`).
 * @see CARIN BB 2.2.0 EOB*Profile.fsh; Da Vinci PDex 2.2.0 PdexPriorAuthorization
 */

export interface ClaimContext {
  rng: Rng;
  /** Draws for the fields added later (see STREAM.detail), so `rng` draws stay where they were. */
  detail: Rng;
  /** The plan pays second (Coverage.order 2): claims carry the primary payer's payment (priorpayerpaid). */
  secondary: boolean;
  nextId: () => string;
  patient: { reference: string };
  memberId: string;
  coverage: { reference: string };
  insurer: { reference: string; display?: string };
  at: number;
  meta: (profile: string) => FhirResource['meta'];
}

export interface EncounterClaimInput {
  start: number;
  end: number;
  encounterId: string;
  conditionId: string;
  practitioner: string;
  organization: string;
  kind: EncounterKind;
  diagnosis: Diagnosis;
  procedure?: { id: string; code: ProcedureCode; at: number };
  /** The number of the prior authorization that covers this visit (insurance.preAuthRef). */
  preAuthRef?: string;
}

const CARIN = 'http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-ExplanationOfBenefit-';
/** Share of claim EOBs written as CARIN Basis (non-financial) profiles. */
const BASIS_SHARE = 0.3;
/** Share of claim EOBs that re-adjudicate an earlier claim (related.relationship = prior). */
const ADJUSTED_SHARE = 0.06;

/** The professional claim for a visit, plus the facility claim for inpatient, ER and hospital outpatient care. */
export function encounterClaims(context: ClaimContext, visit: EncounterClaimInput): FhirResource[] {
  const claims = [professional(context, visit)];
  if (visit.kind.classCode === 'IMP') claims.push(institutional(context, visit, 'inpatient'));
  else if (visit.kind.classCode === 'EMER' || visit.kind.placeOfService.code === '22') {
    claims.push(institutional(context, visit, 'outpatient'));
  }
  return claims;
}

function professional(context: ClaimContext, visit: EncounterClaimInput): FhirResource {
  const basis = context.rng.chance(BASIS_SHARE);
  const lines: Line[] = [
    {
      service: coding(SYSTEM.cpt, visit.kind.visit.code, visit.kind.visit.display),
      modifiers: visit.procedure ? ['25'] : [],
      serviced: { servicedDate: date(visit.start) },
      location: visit.kind.placeOfService,
      quantity: 1,
      charge: context.rng.int(90, 450),
    },
  ];
  if (visit.procedure) {
    lines.push({
      service: coding(SYSTEM.cpt, visit.procedure.code.cpt.code, visit.procedure.code.cpt.display),
      modifiers: context.rng.chance(0.4) ? [context.rng.pick(MODIFIERS.slice(1))] : [],
      serviced: { servicedDate: date(visit.procedure.at) },
      location: visit.kind.placeOfService,
      quantity: 1,
      charge: context.rng.int(60, 1800),
    });
  }
  return claim(context, {
    profile: `${CARIN}Professional-NonClinician`,
    basis,
    type: 'professional',
    subType: undefined,
    provider: reference('Practitioner', visit.practitioner),
    careTeam: [{ practitioner: visit.practitioner, role: 'performing' }],
    billablePeriod: { start: date(visit.start), end: date(visit.end) },
    diagnoses: [{ code: visit.diagnosis.icd10, type: 'principal', system: SYSTEM.c4bbDiagnosisType }],
    procedures: [],
    supportingInfo: [
      { category: 'clmrecvddate', timingDate: date(visit.end + 3 * 86_400_000) },
      { category: 'servicefacility', valueReference: reference('Organization', visit.organization) },
    ],
    lines,
    encounterId: visit.encounterId,
    copay: true,
    preAuthRef: visit.preAuthRef,
  });
}

function institutional(
  context: ClaimContext,
  visit: EncounterClaimInput,
  setting: 'inpatient' | 'outpatient',
): FhirResource {
  const basis = context.rng.chance(BASIS_SHARE);
  const inpatient = setting === 'inpatient';
  const days = Math.max(1, Math.round((visit.end - visit.start) / 86_400_000));
  const lines: Line[] = inpatient
    ? [
        revenueLine(
          context,
          { code: '0120', display: 'Room & board - semi-private' },
          visit.start,
          days,
          1800 * days,
        ),
        revenueLine(
          context,
          { code: '0250', display: 'Pharmacy - general' },
          visit.start,
          1,
          context.rng.int(200, 2400),
        ),
        revenueLine(
          context,
          { code: '0300', display: 'Laboratory - general' },
          visit.start,
          1,
          context.rng.int(150, 900),
        ),
      ]
    : [
        revenueLine(
          context,
          { code: '0450', display: 'Emergency room - general' },
          visit.start,
          1,
          context.rng.int(600, 3200),
          {
            code: visit.kind.classCode === 'EMER' ? '99284' : visit.kind.visit.code,
            display: visit.kind.visit.display,
          },
        ),
        revenueLine(
          context,
          { code: '0300', display: 'Laboratory - general' },
          visit.start,
          1,
          context.rng.int(80, 600),
        ),
      ];
  if (visit.procedure) {
    lines.push(
      revenueLine(
        context,
        visit.procedure.code.revenue,
        visit.procedure.at,
        1,
        context.rng.int(300, 4000),
        visit.procedure.code.cpt,
      ),
    );
  }
  const supportingInfo: SupportingInfo[] = [
    { category: 'clmrecvddate', timingDate: date(visit.end + 5 * 86_400_000) },
    { category: 'typeofbill', code: coding(SYSTEM.typeOfBill, inpatient ? '0111' : '0131') },
    {
      category: 'pointoforigin',
      code: coding(SYSTEM.pointOfOrigin, visit.kind.classCode === 'EMER' ? '7' : '1'),
    },
    { category: 'admtype', code: coding(SYSTEM.admitType, visit.kind.classCode === 'EMER' ? '1' : '3') },
    {
      category: 'discharge-status',
      code: coding(SYSTEM.dischargeStatus, '01', 'Discharged to home or self care'),
    },
    { category: 'medicalrecordnumber', valueString: `MRN-${visit.encounterId.toUpperCase()}` },
  ];
  if (inpatient) {
    supportingInfo.push(
      {
        category: 'admissionperiod',
        timingPeriod: { start: dateTime(visit.start), end: dateTime(visit.end) },
      },
      { category: 'drg', code: coding(SYSTEM.drg, visit.diagnosis.drg.code, visit.diagnosis.drg.display) },
    );
  }
  return claim(context, {
    profile: `${CARIN}${inpatient ? 'Inpatient' : 'Outpatient'}-Institutional`,
    basis,
    type: 'institutional',
    subType: coding(SYSTEM.c4bbInstitutionalSubType, setting),
    provider: reference('Organization', visit.organization),
    careTeam: [{ practitioner: visit.practitioner, role: 'attending' }],
    billablePeriod: { start: date(visit.start), end: date(visit.end) },
    diagnoses: [
      {
        code: visit.diagnosis.icd10,
        type: 'principal',
        system: SYSTEM.c4bbDiagnosisType,
        onAdmission: inpatient ? 'Y' : undefined,
      },
      ...(inpatient
        ? [{ code: visit.diagnosis.icd10, type: 'admitting', system: SYSTEM.c4bbDiagnosisType }]
        : []),
    ],
    procedures:
      inpatient && visit.procedure
        ? [{ code: visit.procedure.code.icd10pcs, at: visit.procedure.at, procedureId: visit.procedure.id }]
        : [],
    supportingInfo,
    lines,
    encounterId: visit.encounterId,
    copay: false,
    preAuthRef: visit.preAuthRef,
  });
}

export function pharmacyClaim(
  context: ClaimContext,
  fill: { drug: Drug; practitioner: string; prescriptionId: string },
): FhirResource {
  return claim(context, {
    profile: `${CARIN}Pharmacy`,
    basis: context.rng.chance(BASIS_SHARE),
    type: 'pharmacy',
    subType: undefined,
    provider: reference('Organization', 'org-4'),
    careTeam: [{ practitioner: fill.practitioner, role: 'prescribing' }],
    billablePeriod: { start: date(context.at), end: date(context.at) },
    diagnoses: [],
    procedures: [],
    supportingInfo: [
      { category: 'clmrecvddate', timingDate: date(context.at) },
      { category: 'dayssupply', valueQuantity: { value: fill.drug.daysSupply } },
      { category: 'refillnum', valueQuantity: { value: 0 } },
      {
        category: 'dawcode',
        code: coding(
          'http://terminology.hl7.org/CodeSystem/NCPDPDispensedAsWrittenOrProductSelectionCode',
          '0',
          'No product selection indicated',
        ),
      },
    ],
    lines: [
      {
        service: coding(SYSTEM.ndc, fill.drug.ndc, fill.drug.rxnorm.display),
        modifiers: [],
        serviced: { servicedDate: date(context.at) },
        quantity: fill.drug.quantity,
        charge: context.rng.int(8, 320),
      },
    ],
    copay: true,
  });
}

export function dentalClaim(context: ClaimContext): FhirResource {
  const services = [DENTAL[0]!, context.rng.pick(DENTAL.slice(1))];
  return claim(context, {
    profile: `${CARIN}Oral`,
    basis: context.rng.chance(BASIS_SHARE),
    type: 'oral',
    subType: undefined,
    provider: reference('Organization', 'org-4'),
    careTeam: [{ practitioner: 'pr-8', role: 'performing' }],
    billablePeriod: { start: date(context.at), end: date(context.at) },
    diagnoses: [
      {
        code: {
          code: 'Z01.20',
          display: 'Encounter for dental examination and cleaning without abnormal findings',
        },
        type: 'principal',
        system: SYSTEM.c4bbDiagnosisType,
      },
    ],
    procedures: [],
    supportingInfo: [
      { category: 'clmrecvddate', timingDate: date(context.at + 2 * 86_400_000) },
      { category: 'servicefacility', valueReference: reference('Organization', 'org-4') },
      { category: 'orthodontics', valueBoolean: false },
    ],
    lines: services.map((service) => ({
      service: coding(SYSTEM.cdt, service.code, service.display),
      modifiers: [],
      serviced: { servicedDate: date(context.at) },
      location: { code: '11', display: 'Office' },
      quantity: 1,
      charge: context.rng.int(40, 260),
      bodySite: service.code === 'D2391' ? String(context.rng.int(1, 32)) : undefined,
    })),
    copay: false,
  });
}

export interface PriorAuthorizationInput {
  procedure: ProcedureCode;
  diagnosis: Diagnosis;
  /** A planned inpatient admission (institutional, with admission period and admitting diagnosis). */
  inpatient: boolean;
  practitioner: string;
  organization: string;
  /** Approved; otherwise drawn (80% approved). */
  approved?: boolean;
  /** Revises an earlier authorization (extension or change of service): related.relationship = prior. */
  revises?: boolean;
  /** When the authorized service is planned (default: when the authorization starts). */
  serviceAt?: number;
  /** Days the authorized admission lasts (inpatient). */
  days?: number;
}

/**
 * A PDex prior authorization: an EOB with use = preauthorization, the requested service, its
 * diagnoses, the authorization number in insurance.preAuthRef and the decision; no amounts (it pays
 * nothing). Claims for the authorized service carry the same number in insurance.preAuthRef.
 */
export function priorAuthorization(context: ClaimContext, request: PriorAuthorizationInput): FhirResource {
  const id = context.nextId();
  const approved = request.approved ?? context.rng.chance(0.8);
  const number = `PA-${id.toUpperCase()}`;
  const start = context.at;
  const end = start + 90 * 86_400_000;
  const { inpatient } = request;
  const supportingInfo: SupportingInfo[] = [
    { category: 'clmrecvddate', timingDate: date(start - context.detail.int(1, 10) * 86_400_000) },
  ];
  if (inpatient) {
    const days = request.days ?? context.detail.int(1, 4);
    const admit = request.serviceAt ?? start + context.detail.int(3, 21) * 86_400_000;
    supportingInfo.push(
      {
        category: 'admissionperiod',
        timingPeriod: { start: dateTime(admit), end: dateTime(admit + days * 86_400_000) },
      },
      { category: 'admtype', code: coding(SYSTEM.admitType, '3', 'Elective') },
      {
        category: 'pointoforigin',
        code: coding(SYSTEM.pointOfOrigin, '1', 'Non-Health Care Facility Point of Origin'),
      },
    );
  }
  const diagnoses = [
    { code: request.diagnosis.icd10, type: 'principal' },
    ...(inpatient ? [{ code: request.diagnosis.icd10, type: 'admitting' }] : []),
  ];
  return {
    resourceType: 'ExplanationOfBenefit',
    id,
    meta: context.meta('http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/pdex-priorauthorization'),
    identifier: [
      {
        type: concept(SYSTEM.c4bbIdentifierType, 'uc', 'Unique Claim ID'),
        system: 'https://sandbox.fhir-etl.local/prior-auth',
        value: number,
      },
    ],
    status: 'active',
    type: inpatient
      ? concept(SYSTEM.claimType, 'institutional', 'Institutional')
      : concept(SYSTEM.claimType, 'professional', 'Professional'),
    ...(inpatient ? { subType: { coding: [coding(SYSTEM.c4bbInstitutionalSubType, 'inpatient')] } } : {}),
    use: 'preauthorization',
    patient: context.patient,
    billablePeriod: { start: date(start), end: date(end) },
    created: dateTime(start),
    insurer: context.insurer,
    provider: inpatient
      ? reference('Organization', request.organization)
      : reference('Practitioner', request.practitioner),
    outcome: approved ? 'complete' : 'partial',
    careTeam: [
      {
        sequence: 1,
        provider: reference('Practitioner', request.practitioner),
        role: concept(SYSTEM.c4bbCareTeamRole, inpatient ? 'attending' : 'performing'),
      },
    ],
    supportingInfo: supportingInfo.map((info, i) => ({
      sequence: i + 1,
      category: concept(SYSTEM.c4bbSupportingInfo, info.category),
      ...(info.code ? { code: { coding: [info.code] } } : {}),
      ...(info.timingDate ? { timingDate: info.timingDate } : {}),
      ...(info.timingPeriod ? { timingPeriod: info.timingPeriod } : {}),
    })),
    diagnosis: diagnoses.map((dx, i) => ({
      sequence: i + 1,
      diagnosisCodeableConcept: concept(SYSTEM.icd10cm, dx.code.code, dx.code.display),
      type: [concept(SYSTEM.diagnosisType, dx.type)],
    })),
    ...(request.revises
      ? {
          related: [
            {
              relationship: concept(
                'http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship',
                'prior',
              ),
              reference: { system: 'https://sandbox.fhir-etl.local/prior-auth', value: `${number}-0` },
            },
          ],
        }
      : {}),
    insurance: [{ focal: true, coverage: context.coverage, preAuthRef: [number] }],
    item: [
      {
        sequence: 1,
        diagnosisSequence: [1],
        productOrService: concept(SYSTEM.cpt, request.procedure.cpt.code, request.procedure.cpt.display),
        servicedPeriod: { start: date(start), end: date(end) },
        quantity: { value: 1 },
        adjudication: [
          {
            category: concept(
              'http://hl7.org/fhir/us/davinci-pdex/CodeSystem/PDexAdjudicationCategoryDiscriminator',
              'denialreason',
            ),
            reason: concept(
              'http://hl7.org/fhir/us/davinci-pdex/CodeSystem/PDexAdjudicationCategoryDiscriminator',
              approved ? 'approved' : 'denied',
            ),
          },
        ],
      },
    ],
  };
}

interface Line {
  service: ReturnType<typeof coding>;
  revenue?: Code;
  modifiers: string[];
  serviced: { servicedDate: string } | { servicedPeriod: { start: string; end: string } };
  location?: Code;
  quantity: number;
  charge: number;
  bodySite?: string;
}

interface SupportingInfo {
  category: string;
  code?: ReturnType<typeof coding>;
  timingDate?: string;
  timingPeriod?: { start: string; end: string };
  valueQuantity?: { value: number };
  valueString?: string;
  valueBoolean?: boolean;
  valueReference?: { reference: string };
}

interface ClaimShape {
  profile: string;
  basis: boolean;
  type: 'institutional' | 'professional' | 'pharmacy' | 'oral';
  subType: ReturnType<typeof coding> | undefined;
  provider: { reference: string };
  careTeam: Array<{ practitioner: string; role: string }>;
  billablePeriod: { start: string; end: string };
  diagnoses: Array<{ code: Code; type: string; system: string; onAdmission?: string }>;
  procedures: Array<{ code: Code; at: number; procedureId: string }>;
  supportingInfo: SupportingInfo[];
  lines: Line[];
  encounterId?: string;
  copay: boolean;
  preAuthRef?: string | undefined;
}

function revenueLine(
  context: ClaimContext,
  revenue: Code,
  at: number,
  quantity: number,
  charge: number,
  service?: Code,
): Line {
  return {
    revenue,
    service: service
      ? coding(/^\d/.test(service.code) ? SYSTEM.cpt : SYSTEM.hcpcs, service.code, service.display)
      : coding(
          'http://terminology.hl7.org/CodeSystem/data-absent-reason',
          'not-applicable',
          'Not Applicable',
        ),
    modifiers: context.rng.chance(0.15) ? [context.rng.pick(MODIFIERS)] : [],
    serviced: { servicedDate: date(at) },
    quantity,
    charge,
  };
}

/** Assembles an EOB of the given shape; a Basis EOB carries no amounts, a financial one every category. */
function claim(context: ClaimContext, shape: ClaimShape): FhirResource {
  const id = context.nextId();
  const profile = shape.basis ? `${shape.profile}-Basis` : shape.profile;
  const inNetwork = context.rng.chance(0.85);
  const lines = shape.lines.map((line, i) => item(context, shape, line, i + 1, inNetwork));
  const totals = sumAdjudications(lines.map((l) => l.amounts));
  const paid = totals.get('benefit') ?? 0;
  const resource: FhirResource = {
    resourceType: 'ExplanationOfBenefit',
    id,
    meta: context.meta(profile),
    identifier: [
      {
        type: concept(SYSTEM.c4bbIdentifierType, 'uc', 'Unique Claim ID'),
        system: 'https://sandbox.fhir-etl.local/claim-id',
        value: `CLM-${id.toUpperCase()}`,
      },
    ],
    status: 'active',
    type: concept(SYSTEM.claimType, shape.type),
    ...(shape.subType ? { subType: { coding: [shape.subType] } } : {}),
    use: 'claim',
    patient: context.patient,
    billablePeriod: shape.billablePeriod,
    created: dateTime(context.at + 7 * 86_400_000),
    insurer: context.insurer,
    provider: shape.provider,
    outcome: 'complete',
    careTeam: shape.careTeam.map((member, i) => ({
      sequence: i + 1,
      provider: reference('Practitioner', member.practitioner),
      role: concept(SYSTEM.c4bbCareTeamRole, member.role),
    })),
    supportingInfo: shape.supportingInfo.map((info, i) => ({
      sequence: i + 1,
      category: concept(SYSTEM.c4bbSupportingInfo, info.category),
      ...(info.code ? { code: { coding: [info.code] } } : {}),
      ...(info.timingDate ? { timingDate: info.timingDate } : {}),
      ...(info.timingPeriod ? { timingPeriod: info.timingPeriod } : {}),
      ...(info.valueQuantity ? { valueQuantity: info.valueQuantity } : {}),
      ...(info.valueString ? { valueString: info.valueString } : {}),
      ...(info.valueBoolean !== undefined ? { valueBoolean: info.valueBoolean } : {}),
      ...(info.valueReference ? { valueReference: info.valueReference } : {}),
    })),
    ...(shape.diagnoses.length > 0
      ? {
          diagnosis: shape.diagnoses.map((dx, i) => ({
            sequence: i + 1,
            diagnosisCodeableConcept: concept(SYSTEM.icd10cm, dx.code.code, dx.code.display),
            type: [concept(dx.system, dx.type)],
            ...(dx.onAdmission ? { onAdmission: concept(SYSTEM.poa, dx.onAdmission) } : {}),
          })),
        }
      : {}),
    ...(shape.procedures.length > 0
      ? {
          procedure: shape.procedures.map((procedure, i) => ({
            sequence: i + 1,
            type: [concept(SYSTEM.c4bbProcedureType, i === 0 ? 'principal' : 'other')],
            date: dateTime(procedure.at),
            procedureCodeableConcept: concept(SYSTEM.icd10pcs, procedure.code.code, procedure.code.display),
          })),
        }
      : {}),
    insurance: [
      {
        focal: true,
        coverage: context.coverage,
        ...(shape.preAuthRef ? { preAuthRef: [shape.preAuthRef] } : {}),
      },
    ],
    adjudication: [
      {
        category: concept(SYSTEM.c4bbDiscriminator, 'benefitpaymentstatus'),
        reason: concept(SYSTEM.c4bbPaymentStatus, inNetwork ? 'innetwork' : 'outofnetwork'),
      },
    ],
    item: lines.map((l) => l.item),
  };
  // A re-adjudicated claim names the claim it replaces; the original is not sent (superseded).
  if (context.detail.chance(ADJUSTED_SHARE)) {
    resource.related = [
      {
        relationship: concept('http://terminology.hl7.org/CodeSystem/ex-relatedclaimrelationship', 'prior'),
        reference: { system: 'https://sandbox.fhir-etl.local/claim-id', value: `CLM-${id.toUpperCase()}-0` },
      },
    ];
  }
  if (shape.basis) return resource;
  resource.total = [...totals].map(([category, value]) => ({
    category: adjudicationCategory(category),
    amount: usd(value),
  }));
  resource.payment = {
    type: concept(SYSTEM.c4bbAdjudicationStatus, 'paid'),
    date: date(context.at + 21 * 86_400_000),
    amount: usd(paid),
  };
  return resource;
}

function item(context: ClaimContext, shape: ClaimShape, line: Line, sequence: number, inNetwork: boolean) {
  const amounts = shape.basis
    ? new Map<string, number>()
    : adjudicate(context, line.charge, {
        copay: shape.copay,
        pharmacy: shape.type === 'pharmacy',
        // Out of network the member pays the office or pharmacy and the plan reimburses the member.
        reimburseMember: !inNetwork && shape.type !== 'institutional',
      });
  const entry: Record<string, unknown> = { sequence };
  if (shape.diagnoses.length > 0) entry.diagnosisSequence = [1];
  if (line.revenue) entry.revenue = concept(SYSTEM.revenue, line.revenue.code, line.revenue.display);
  entry.productOrService = { coding: [line.service] };
  if (line.modifiers.length > 0)
    entry.modifier = line.modifiers.map((m) => ({ coding: [coding(SYSTEM.hcpcs, m)] }));
  Object.assign(entry, line.serviced);
  if (line.location)
    entry.locationCodeableConcept = concept(SYSTEM.placeOfService, line.location.code, line.location.display);
  entry.quantity = { value: line.quantity };
  if (line.bodySite) entry.bodySite = concept(SYSTEM.tooth, line.bodySite);
  if (shape.encounterId) entry.encounter = [reference('Encounter', shape.encounterId)];
  if (!shape.basis) {
    entry.adjudication = [...amounts].map(([category, value]) => ({
      category: adjudicationCategory(category),
      amount: usd(value),
    }));
    entry.net = usd(line.charge);
  } else {
    entry.adjudication = [{ category: concept(SYSTEM.c4bbDiscriminator, 'benefitpaymentstatus') }];
  }
  return { item: entry, amounts };
}

/**
 * Line amounts that add up: eligible = submitted - noncovered (pharmacy: - discount); what the plan
 * pays (benefit) = eligible - priorpayerpaid - member share; benefit goes to the provider, or to the
 * member who paid up front (paidbypatient) out of network. Pharmacy lines also carry drugcost.
 */
function adjudicate(
  context: ClaimContext,
  submitted: number,
  options: { copay: boolean; pharmacy: boolean; reimburseMember: boolean },
): Map<string, number> {
  const { rng, detail } = context;
  const eligible = cents(submitted * (0.55 + rng.next() * 0.35));
  const priorPaid = context.secondary ? cents(eligible * (0.5 + detail.next() * 0.3)) : 0;
  const remaining = eligible - priorPaid;
  const deductible = rng.chance(0.3) ? cents(Math.min(remaining * 0.5, rng.int(20, 250))) : 0;
  const copayAmount = options.copay
    ? cents(Math.min(remaining - deductible, [10, 20, 30, 40][rng.int(0, 3)]!))
    : 0;
  const coinsurance = cents((remaining - deductible - copayAmount) * (rng.chance(0.5) ? 0.2 : 0));
  const memberLiability = cents(deductible + copayAmount + coinsurance);
  const benefit = cents(remaining - memberLiability);
  const amounts = new Map<string, number>([['submitted', submitted]]);
  if (options.pharmacy) amounts.set('drugcost', submitted);
  amounts.set('eligible', eligible);
  amounts.set('deductible', deductible);
  amounts.set('copay', copayAmount);
  amounts.set('coinsurance', coinsurance);
  if (options.pharmacy) {
    // The pharmacy's network price: what the plan does not allow is a discount, not a non-covered charge.
    amounts.set('noncovered', 0);
    amounts.set('discount', cents(submitted - eligible));
  } else {
    amounts.set('noncovered', cents(submitted - eligible));
  }
  if (context.secondary) amounts.set('priorpayerpaid', priorPaid);
  amounts.set('memberliability', memberLiability);
  amounts.set('benefit', benefit);
  if (options.reimburseMember) {
    amounts.set('paidbypatient', submitted);
    amounts.set('paidtoprovider', 0);
    amounts.set('paidtopatient', benefit);
  } else {
    // At the pharmacy counter the member pays their share; a provider bills it afterwards.
    if (options.pharmacy) amounts.set('paidbypatient', memberLiability);
    amounts.set('paidtoprovider', benefit);
    amounts.set('paidtopatient', 0);
  }
  return amounts;
}

function sumAdjudications(lines: Array<Map<string, number>>): Map<string, number> {
  const totals = new Map<string, number>();
  for (const line of lines) for (const [k, v] of line) totals.set(k, cents((totals.get(k) ?? 0) + v));
  return totals;
}

const HL7_ADJUDICATION = new Set(['submitted', 'eligible', 'benefit', 'deductible', 'copay']);

function adjudicationCategory(category: string) {
  return concept(HL7_ADJUDICATION.has(category) ? SYSTEM.adjudication : SYSTEM.c4bbAdjudication, category);
}

function usd(value: number) {
  return { value, currency: 'USD' };
}

function cents(value: number): number {
  return Math.round(value * 100) / 100;
}
