import {
  ALLERGENS,
  DIAGNOSES,
  type Diagnosis,
  DRUGS,
  ENCOUNTER_KINDS,
  type EncounterKind,
  ETHNICITIES,
  LABS,
  type Measure,
  PROCEDURES,
  RACES,
  REACTIONS,
  SMOKING_ANSWERS,
  SMOKING_STATUS,
  SYSTEM,
  VACCINES,
  VITALS,
} from './codes.ts';
import {
  dentalClaim,
  encounterClaims,
  pharmacyClaim,
  priorAuthorization,
  type ClaimContext,
  type EncounterClaimInput,
} from './eob.ts';
import { type Demographics, demographics, resourceId, STREAM, TEST_MEMBERS } from './members.ts';
import { type Rng, rngFor } from './prng.ts';
import { coding, concept, type FhirResource, reference } from './resource.ts';
import { date, dateTime } from './time.ts';
import {
  locationId,
  locationName,
  organizationId,
  PAYER_ID,
  PAYER_NAME,
  PRACTITIONERS,
  PROVIDER_ORGANIZATIONS,
  practitionerId,
} from './shared.ts';

/**
 * One member's record, generated from (seed, index) alone: US Core clinical resources, a CARIN
 * Coverage and CARIN Blue Button ExplanationOfBenefits for the care they received.
 * References are relative (`Patient/<id>`); meta.lastUpdated is fixed by the seed.
 */
export function memberResources(seed: number, index: number): FhirResource[] {
  const person = demographics(seed, index);
  const rng = rngFor(seed, index, STREAM.clinical);
  const record = new MemberRecord(person, rng, rngFor(seed, index, STREAM.detail));
  record.patient();
  record.coverage();
  record.allergies();
  const encounters = rng.int(2, 6);
  for (let n = 0; n < encounters; n++) record.encounter(n === 0);
  if (rng.chance(0.2)) record.add(dentalClaim(record.claimContext(record.serviceDate())));
  if (rng.chance(0.4)) record.priorAuthorization();
  return record.resources;
}

const US_CORE = 'http://hl7.org/fhir/us/core/StructureDefinition/';
/** Service dates fall in this window; lastUpdated follows the service date by days to months. */
const FIRST_SERVICE = Date.UTC(2019, 0, 1);
const LAST_SERVICE = Date.UTC(2025, 3, 30);
const LAST_UPDATE = Date.UTC(2025, 5, 30);

class MemberRecord {
  readonly resources: FhirResource[] = [];
  private counter = 0;
  private readonly conditions = new Map<Diagnosis, string>();
  private readonly patientRef: { reference: string };
  private readonly coverageId: string;
  private readonly firstService: number;
  /** Member traits drawn from the `detail` stream (the 1up test members keep the plain profile). */
  private readonly email: string | undefined;
  private readonly deceasedAt: number | undefined;
  private readonly formerMemberId: string | undefined;
  private readonly secondary: boolean;

  constructor(
    private readonly person: Demographics,
    private readonly rng: Rng,
    private readonly detail: Rng,
  ) {
    this.patientRef = reference('Patient', person.patientId);
    this.coverageId = this.id('cov');
    this.firstService = Math.max(FIRST_SERVICE, Date.parse(`${person.birthDate}T00:00:00Z`));
    const named = person.index < TEST_MEMBERS.length;
    this.email = detail.chance(0.75)
      ? `${person.given}.${person.family}${person.index}@example.com`.toLowerCase()
      : undefined;
    // Some older members died after their last claim; their coverage ends that month.
    this.deceasedAt =
      !named && person.birthDate < '1955' && detail.chance(0.3)
        ? LAST_SERVICE + detail.int(5, 45) * 86_400_000 + detail.int(0, 23) * 3_600_000
        : undefined;
    // Members enrolled before 2019 kept their old member number as an ended identifier.
    this.formerMemberId =
      !named && person.birthDate < '2010' && detail.chance(0.2)
        ? `XM${String(person.index * 31 + 7).padStart(8, '0')}`
        : undefined;
    // Coordination of benefits: another plan pays first (Coverage.order 2, priorpayerpaid on claims).
    this.secondary = !named && detail.chance(0.12);
  }

  add(resource: FhirResource): void {
    this.resources.push(resource);
  }

  id(prefix: string): string {
    return resourceId(prefix, this.person.index, ++this.counter);
  }

  meta(at: number, profile?: string, rng: Rng = this.rng): FhirResource['meta'] {
    const lastUpdated = new Date(Math.min(LAST_UPDATE, at + rng.int(1, 90) * 86_400_000)).toISOString();
    return profile ? { versionId: '1', lastUpdated, profile: [profile] } : { versionId: '1', lastUpdated };
  }

  serviceDate(): number {
    const day = this.rng.int(0, Math.floor((LAST_SERVICE - this.firstService) / 86_400_000));
    return (
      this.firstService + day * 86_400_000 + this.rng.int(7, 18) * 3_600_000 + this.rng.int(0, 3) * 900_000
    );
  }

  patient(): void {
    const p = this.person;
    const race = this.rng.pick(RACES);
    const ethnicity = this.rng.chance(0.8) ? ETHNICITIES[0]! : ETHNICITIES[1]!;
    this.add({
      resourceType: 'Patient',
      id: p.patientId,
      meta: this.meta(
        this.deceasedAt ?? Date.UTC(2023, 0, 1),
        'http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-Patient',
      ),
      extension: [
        {
          url: `${US_CORE}us-core-race`,
          extension: [
            { url: 'ombCategory', valueCoding: coding(SYSTEM.omb, race.code, race.display) },
            { url: 'text', valueString: race.display },
          ],
        },
        {
          url: `${US_CORE}us-core-ethnicity`,
          extension: [
            { url: 'ombCategory', valueCoding: coding(SYSTEM.omb, ethnicity.code, ethnicity.display) },
            { url: 'text', valueString: ethnicity.display },
          ],
        },
        { url: `${US_CORE}us-core-birthsex`, valueCode: p.gender === 'female' ? 'F' : 'M' },
      ],
      identifier: [
        {
          use: 'usual',
          type: concept(SYSTEM.v20203, 'MB', 'Member Number'),
          system: 'https://sandbox.fhir-etl.local/member-id',
          value: p.memberId,
        },
        {
          type: concept(SYSTEM.c4bbIdentifierType, 'um', 'Unique Member ID'),
          system: 'https://sandbox.fhir-etl.local/unique-member-id',
          value: `UM-${p.memberId}`,
        },
        {
          type: concept(SYSTEM.v20203, 'MR', 'Medical record number'),
          system: 'https://sandbox.fhir-etl.local/mrn',
          value: `MRN${String(p.index * 7919 + 100_003).padStart(9, '0')}`,
        },
        ...(this.formerMemberId
          ? [
              {
                use: 'old',
                type: concept(SYSTEM.v20203, 'MB', 'Member Number'),
                system: 'https://sandbox.fhir-etl.local/member-id',
                value: this.formerMemberId,
                period: { start: '2012-01-01', end: '2018-12-31' },
              },
            ]
          : []),
      ],
      active: true,
      name: [{ use: 'official', family: p.family, given: [p.given] }],
      telecom: [
        { system: 'phone', value: p.phone, use: 'home' },
        ...(this.email ? [{ system: 'email', value: this.email, use: 'home' }] : []),
      ],
      gender: p.gender,
      birthDate: p.birthDate,
      ...(this.deceasedAt ? { deceasedDateTime: dateTime(this.deceasedAt) } : { deceasedBoolean: false }),
      address: [
        {
          use: 'home',
          line: [p.line],
          city: p.city,
          state: p.state,
          postalCode: p.postalCode,
          country: 'US',
        },
      ],
      communication: [
        { language: concept('urn:ietf:bcp:47', 'en-US', 'English (United States)'), preferred: true },
      ],
      managingOrganization: reference('Organization', PAYER_ID),
    });
  }

  coverage(): void {
    const start = `${Math.max(2019, Number(this.person.birthDate.slice(0, 4)))}-01-01`;
    const medicare = this.person.birthDate < '1960';
    // Coverage ends the last day of the month the member died; commercial plans run to the plan year's end.
    const end = this.deceasedAt
      ? date(
          Date.UTC(
            new Date(this.deceasedAt).getUTCFullYear(),
            new Date(this.deceasedAt).getUTCMonth() + 1,
            0,
          ),
        )
      : medicare
        ? undefined
        : '2025-12-31';
    this.add({
      resourceType: 'Coverage',
      id: this.coverageId,
      meta: this.meta(
        this.deceasedAt ?? Date.UTC(2023, 0, 1),
        'http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-Coverage',
      ),
      identifier: [
        {
          type: concept(SYSTEM.v20203, 'MB', 'Member Number'),
          system: 'https://sandbox.fhir-etl.local/member-id',
          value: this.person.memberId,
        },
      ],
      status: 'active',
      type: concept(
        'https://nahdo.org/sopt',
        this.person.birthDate < '1960' ? '1' : '511',
        this.person.birthDate < '1960' ? 'MEDICARE' : 'Commercial Managed Care - HMO',
      ),
      subscriber: this.patientRef,
      subscriberId: this.person.memberId,
      beneficiary: this.patientRef,
      dependent: '01',
      relationship: concept('http://terminology.hl7.org/CodeSystem/subscriber-relationship', 'self', 'Self'),
      period: end ? { start, end } : { start },
      payor: [reference('Organization', PAYER_ID, PAYER_NAME)],
      class: [
        {
          type: concept(SYSTEM.coverageClass, 'group'),
          value: `G-${String(10_000 + (this.person.index % 50)).padStart(6, '0')}`,
          name: 'Sandbox Employer Group',
        },
        { type: concept(SYSTEM.coverageClass, 'plan'), value: 'HMO-GOLD', name: 'Gold HMO' },
      ],
      network: 'Sandbox Select Network',
      order: this.secondary ? 2 : 1,
    });
  }

  allergies(): void {
    const count = this.rng.chance(0.6) ? this.rng.int(1, 2) : 0;
    for (let n = 0; n < count; n++) {
      const allergen = this.rng.pick(ALLERGENS);
      const onset = this.serviceDate();
      const reaction = this.rng.pick(REACTIONS);
      this.add({
        resourceType: 'AllergyIntolerance',
        id: this.id('alg'),
        meta: this.meta(onset, `${US_CORE}us-core-allergyintolerance`),
        clinicalStatus: concept(
          'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical',
          'active',
          'Active',
        ),
        verificationStatus: concept(
          'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification',
          'confirmed',
          'Confirmed',
        ),
        type: 'allergy',
        category: [allergen.category],
        criticality: reaction.code === '39579001' ? 'high' : 'low',
        code: concept(allergen.substance.system, allergen.substance.code, allergen.substance.display),
        patient: this.patientRef,
        onsetDateTime: dateTime(onset),
        recordedDate: dateTime(onset),
        reaction: [
          {
            manifestation: [concept(SYSTEM.snomed, reaction.code, reaction.display)],
            severity: reaction.code === '39579001' ? 'severe' : 'mild',
          },
        ],
      });
    }
  }

  encounter(first: boolean): void {
    const kind = this.encounterKind();
    const start = this.serviceDate();
    const end =
      kind.classCode === 'IMP'
        ? start + this.rng.int(1, 6) * 86_400_000
        : start + this.rng.int(1, 16) * 900_000;
    const diagnosis = this.rng.pick(DIAGNOSES);
    const conditionId = this.condition(diagnosis, start);
    const encounterId = this.id('enc');
    this.linkCondition(conditionId, encounterId);
    const practitioner = practitionerId(this.rng.int(0, PRACTITIONERS - 1));
    const site = this.rng.int(0, PROVIDER_ORGANIZATIONS - 1);
    const organization = organizationId(site);
    this.add({
      resourceType: 'Encounter',
      id: encounterId,
      meta: this.meta(end, `${US_CORE}us-core-encounter`),
      identifier: [{ system: 'https://sandbox.fhir-etl.local/encounter', value: encounterId.toUpperCase() }],
      status: 'finished',
      class: coding(SYSTEM.actCode, kind.classCode, kind.classDisplay),
      type: [concept(SYSTEM.snomed, kind.type.code, kind.type.display)],
      subject: this.patientRef,
      participant: [
        {
          type: [concept('http://terminology.hl7.org/CodeSystem/v3-ParticipationType', 'ATND', 'attender')],
          individual: reference('Practitioner', practitioner),
        },
      ],
      period: { start: dateTime(start), end: dateTime(end) },
      reasonCode: [concept(SYSTEM.snomed, diagnosis.snomed.code, diagnosis.snomed.display)],
      reasonReference: [reference('Condition', conditionId)],
      diagnosis: [
        {
          condition: reference('Condition', conditionId),
          use: concept(
            'http://terminology.hl7.org/CodeSystem/diagnosis-role',
            kind.classCode === 'IMP' ? 'DD' : 'billing',
          ),
          rank: 1,
        },
      ],
      ...(kind.classCode === 'IMP'
        ? {
            hospitalization: {
              dischargeDisposition: concept(
                'http://terminology.hl7.org/CodeSystem/discharge-disposition',
                'home',
                'Home',
              ),
            },
          }
        : {}),
      location: [
        {
          location: reference('Location', locationId(site), locationName(site)),
          status: 'completed',
          period: { start: dateTime(start), end: dateTime(end) },
        },
      ],
      serviceProvider: reference('Organization', organization),
    });
    const at = { start, end, encounterId, conditionId, practitioner, organization, diagnosis };
    this.observations(at, first);
    const procedure = this.rng.chance(0.35) ? this.procedure(at, diagnosis) : undefined;
    if (this.rng.chance(0.25)) this.immunization(at);
    const preAuthRef =
      procedure && kind.classCode !== 'EMER' && this.detail.chance(0.6)
        ? this.authorize(at, procedure.code, kind.classCode === 'IMP')
        : undefined;
    const claim = this.claimContext(start);
    for (const eob of encounterClaims(claim, { ...at, kind, procedure, preAuthRef })) this.add(eob);
    if (this.rng.chance(0.45)) {
      const drug = this.medicationRequest(at);
      this.add(
        pharmacyClaim(this.claimContext(start + 86_400_000), {
          drug,
          practitioner,
          prescriptionId: drug.requestId,
        }),
      );
    }
  }

  /** An approved prior authorization requested 1-4 weeks before the visit; returns its number. */
  authorize(at: Visit, procedure: (typeof PROCEDURES)[number], inpatient: boolean): string {
    const requested = at.start - this.detail.int(7, 30) * 86_400_000;
    const authorization = priorAuthorization(this.claimContext(requested, this.detail), {
      procedure,
      diagnosis: at.diagnosis,
      inpatient,
      practitioner: at.practitioner,
      organization: at.organization,
      approved: true,
      serviceAt: at.start,
      days: Math.max(1, Math.round((at.end - at.start) / 86_400_000)),
    });
    this.add(authorization);
    return (authorization.identifier as Array<{ value: string }>)[0]!.value;
  }

  /** US Core encounter-diagnosis: the Condition names the encounter where it was first diagnosed. */
  linkCondition(conditionId: string, encounterId: string): void {
    const index = this.resources.findIndex((r) => r.id === conditionId);
    const condition = this.resources[index];
    if (!condition || condition.encounter) return;
    const linked: FhirResource = {
      resourceType: condition.resourceType,
      id: condition.id,
      meta: condition.meta,
    };
    for (const [key, value] of Object.entries(condition)) {
      linked[key] = value;
      if (key === 'subject') linked.encounter = reference('Encounter', encounterId);
    }
    this.resources[index] = linked;
  }

  encounterKind(): EncounterKind {
    const roll = this.rng.next();
    if (roll < 0.1) return ENCOUNTER_KINDS[4]!;
    if (roll < 0.25) return ENCOUNTER_KINDS[3]!;
    return ENCOUNTER_KINDS[this.rng.int(0, 2)]!;
  }

  condition(diagnosis: Diagnosis, at: number): string {
    const known = this.conditions.get(diagnosis);
    if (known) return known;
    const id = this.id('cond');
    if (diagnosis.chronic) this.conditions.set(diagnosis, id);
    const resolved = !diagnosis.chronic && this.rng.chance(0.7);
    this.add({
      resourceType: 'Condition',
      id,
      meta: this.meta(at, `${US_CORE}us-core-condition-encounter-diagnosis`),
      clinicalStatus: concept(
        'http://terminology.hl7.org/CodeSystem/condition-clinical',
        resolved ? 'resolved' : 'active',
        resolved ? 'Resolved' : 'Active',
      ),
      verificationStatus: concept(
        'http://terminology.hl7.org/CodeSystem/condition-ver-status',
        'confirmed',
        'Confirmed',
      ),
      category: [
        concept(
          'http://terminology.hl7.org/CodeSystem/condition-category',
          'encounter-diagnosis',
          'Encounter Diagnosis',
        ),
      ],
      code: {
        coding: [
          coding(SYSTEM.snomed, diagnosis.snomed.code, diagnosis.snomed.display),
          coding(SYSTEM.icd10cm, diagnosis.icd10.code, diagnosis.icd10.display),
        ],
        text: diagnosis.snomed.display,
      },
      subject: this.patientRef,
      onsetDateTime: dateTime(at),
      ...(resolved ? { abatementDateTime: dateTime(at + this.rng.int(5, 30) * 86_400_000) } : {}),
      recordedDate: dateTime(at),
    });
    return id;
  }

  observations(at: Visit, first: boolean): void {
    const vitals = this.rng.int(3, 5);
    const offset = this.rng.int(0, VITALS.length - 1);
    for (let n = 0; n < vitals; n++) this.measurement(at, VITALS[(offset + n) % VITALS.length]!);
    if (this.rng.chance(0.5)) this.measurement(at, this.rng.pick(LABS));
    if (first) this.smokingStatus(at);
    if (this.detail.chance(0.12)) this.urineColor(at);
  }

  /** A urinalysis result reported as text (Observation.valueString). */
  urineColor(at: Visit): void {
    this.add({
      resourceType: 'Observation',
      id: this.id('obs'),
      meta: this.meta(at.start, `${US_CORE}us-core-observation-lab`, this.detail),
      status: 'final',
      category: [
        concept('http://terminology.hl7.org/CodeSystem/observation-category', 'laboratory', 'Laboratory'),
      ],
      code: concept(SYSTEM.loinc, '5778-6', 'Color of Urine'),
      subject: this.patientRef,
      encounter: reference('Encounter', at.encounterId),
      effectiveDateTime: dateTime(at.start),
      issued: new Date(at.start + 7_200_000).toISOString(),
      valueString: this.detail.pick(['Yellow', 'Straw', 'Dark yellow', 'Amber']),
    });
  }

  measurement(at: Visit, measure: Measure): void {
    const factor = 10 ** measure.decimals;
    const value = Math.round((measure.min + this.rng.next() * (measure.max - measure.min)) * factor) / factor;
    const profile = measure.category === 'laboratory' ? 'us-core-observation-lab' : 'us-core-vital-signs';
    this.add({
      resourceType: 'Observation',
      id: this.id('obs'),
      meta: this.meta(at.start, `${US_CORE}${profile}`),
      status: 'final',
      category: [
        concept(
          'http://terminology.hl7.org/CodeSystem/observation-category',
          measure.category,
          measure.category === 'laboratory' ? 'Laboratory' : 'Vital Signs',
        ),
      ],
      code: concept(SYSTEM.loinc, measure.loinc.code, measure.loinc.display),
      subject: this.patientRef,
      encounter: reference('Encounter', at.encounterId),
      effectiveDateTime: dateTime(at.start),
      issued: new Date(at.start + 3_600_000).toISOString(),
      valueQuantity: { value, unit: measure.unit, system: SYSTEM.ucum, code: measure.ucum },
    });
  }

  smokingStatus(at: Visit): void {
    const answer = this.rng.pick(SMOKING_ANSWERS);
    this.add({
      resourceType: 'Observation',
      id: this.id('obs'),
      meta: this.meta(at.start, `${US_CORE}us-core-smokingstatus`),
      status: 'final',
      category: [
        concept(
          'http://terminology.hl7.org/CodeSystem/observation-category',
          'social-history',
          'Social History',
        ),
      ],
      code: concept(SYSTEM.loinc, SMOKING_STATUS.code, SMOKING_STATUS.display),
      subject: this.patientRef,
      encounter: reference('Encounter', at.encounterId),
      effectiveDateTime: dateTime(at.start),
      issued: new Date(at.start + 600_000).toISOString(),
      valueCodeableConcept: concept(SYSTEM.snomed, answer.code, answer.display),
    });
  }

  procedure(at: Visit, diagnosis: Diagnosis): { id: string; code: (typeof PROCEDURES)[number]; at: number } {
    const code = this.rng.pick(PROCEDURES);
    const id = this.id('proc');
    const performed = at.start + 1_800_000;
    this.add({
      resourceType: 'Procedure',
      id,
      meta: this.meta(performed, `${US_CORE}us-core-procedure`),
      status: 'completed',
      code: {
        coding: [
          coding(SYSTEM.snomed, code.snomed.code, code.snomed.display),
          coding(SYSTEM.cpt, code.cpt.code, code.cpt.display),
        ],
        text: code.snomed.display,
      },
      subject: this.patientRef,
      encounter: reference('Encounter', at.encounterId),
      performedPeriod: { start: dateTime(performed), end: dateTime(performed + 1_800_000) },
      performer: [{ actor: reference('Practitioner', at.practitioner) }],
      reasonCode: [concept(SYSTEM.snomed, diagnosis.snomed.code, diagnosis.snomed.display)],
      reasonReference: [reference('Condition', at.conditionId)],
    });
    return { id, code, at: performed };
  }

  immunization(at: Visit): void {
    const vaccine = this.rng.pick(VACCINES);
    const notDone = this.rng.chance(0.1);
    this.add({
      resourceType: 'Immunization',
      id: this.id('imm'),
      meta: this.meta(at.start, `${US_CORE}us-core-immunization`),
      status: notDone ? 'not-done' : 'completed',
      ...(notDone
        ? {
            statusReason: concept(
              'http://terminology.hl7.org/CodeSystem/v3-ActReason',
              'PATOBJ',
              'patient objection',
            ),
          }
        : {}),
      vaccineCode: concept(SYSTEM.cvx, vaccine.code, vaccine.display),
      patient: this.patientRef,
      encounter: reference('Encounter', at.encounterId),
      occurrenceDateTime: dateTime(at.start),
      primarySource: true,
      ...(notDone ? {} : { lotNumber: `LOT${this.rng.int(10_000, 99_999)}` }),
    });
  }

  medicationRequest(at: Visit): (typeof DRUGS)[number] & { requestId: string } {
    const drug = this.rng.pick(DRUGS);
    const id = this.id('medrx');
    this.add({
      resourceType: 'MedicationRequest',
      id,
      meta: this.meta(at.start, `${US_CORE}us-core-medicationrequest`),
      status: this.rng.chance(0.7) ? 'active' : 'completed',
      intent: 'order',
      category: [
        concept(
          'http://terminology.hl7.org/CodeSystem/medicationrequest-category',
          'outpatient',
          'Outpatient',
        ),
      ],
      medicationCodeableConcept: concept(SYSTEM.rxnorm, drug.rxnorm.code, drug.rxnorm.display),
      subject: this.patientRef,
      encounter: reference('Encounter', at.encounterId),
      authoredOn: dateTime(at.start),
      requester: reference('Practitioner', at.practitioner),
      reasonCode: [concept(SYSTEM.snomed, at.diagnosis.snomed.code, at.diagnosis.snomed.display)],
      reasonReference: [reference('Condition', at.conditionId)],
      dosageInstruction: [{ text: drug.dosage }],
      dispenseRequest: {
        numberOfRepeatsAllowed: this.rng.int(0, 5),
        quantity: { value: drug.quantity, unit: drug.quantity === 1 ? 'inhaler' : 'tablet' },
        expectedSupplyDuration: { value: drug.daysSupply, unit: 'days', system: SYSTEM.ucum, code: 'd' },
      },
    });
    return { ...drug, requestId: id };
  }

  /** A stand-alone prior authorization (for care not, or not yet, claimed); some for a planned admission. */
  priorAuthorization(): void {
    const context = this.claimContext(this.serviceDate());
    const procedure = this.rng.pick(PROCEDURES);
    const inpatient = this.detail.chance(0.3);
    this.add(
      priorAuthorization(context, {
        procedure,
        diagnosis: this.detail.pick(DIAGNOSES),
        inpatient,
        practitioner: practitionerId(0),
        organization: organizationId(inpatient ? this.detail.pick([0, 2]) : 3),
        revises: this.detail.chance(0.25),
      }),
    );
  }

  /** Claims draw from `rng`; pass `detail` for EOBs added after the first release. */
  claimContext(at: number, rng: Rng = this.rng): ClaimContext {
    return {
      rng,
      detail: this.detail,
      secondary: this.secondary,
      nextId: () => this.id('eob'),
      patient: this.patientRef,
      memberId: this.person.memberId,
      coverage: reference('Coverage', this.coverageId, 'Gold HMO'),
      insurer: reference('Organization', PAYER_ID, PAYER_NAME),
      at,
      meta: (profile) => this.meta(at + 14 * 86_400_000, profile, rng),
    };
  }
}

/** What a visit's claims are made from, before the claim's own kind and extras are chosen. */
type Visit = Pick<
  EncounterClaimInput,
  'start' | 'end' | 'encounterId' | 'conditionId' | 'practitioner' | 'organization' | 'diagnosis'
>;
