import { SYSTEM } from '../data/codes.ts';
import type { Dataset } from '../data/dataset.ts';
import { patientId, resourceId } from '../data/members.ts';
import { concept, coding, type FhirResource, reference } from '../data/resource.ts';
import type { ConsentPolicy } from './consent.ts';

/**
 * A member's record as the Payer-to-Payer API serves it:
 * - claims as CARIN Basis (non-financial) EOBs: CMS-0057-F asks for claims and encounters
 *   without provider remittances or enrollee cost-sharing; prior authorizations as they are;
 * - behavioral-health data the prior payer holds for every other member (index even), labelled
 *   sensitive (v3-ActCode PSY, confidentiality R) and withheld from a "non-sensitive only" consent.
 * @see /work/shared/reference/standards.md section 1.2 and 1.3
 * @see Da Vinci PDex 2.2.0 HandlingSecurityLabels.md
 */

export const SENSITIVE_LABELS = [
  {
    system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
    code: 'PSY',
    display: 'psychiatry information sensitivity',
  },
  { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R', display: 'restricted' },
] as const;

export function hasSensitiveRecord(index: number): boolean {
  return index % 2 === 0;
}

export function isSensitive(resource: FhirResource): boolean {
  const security = (resource.meta as { security?: Array<{ system?: string; code?: string }> }).security ?? [];
  return security.some((label) =>
    SENSITIVE_LABELS.some((sensitive) => sensitive.system === label.system && sensitive.code === label.code),
  );
}

/** The member's record as of `step`, as the consent policy lets it be served (all when undefined). */
export function p2pRecord(
  dataset: Dataset,
  index: number,
  step: number,
  policy: ConsentPolicy = 'all',
): FhirResource[] {
  const record = dataset.resourcesOf(index, step).map(basisView);
  if (hasSensitiveRecord(index)) record.push(sensitiveCondition(index));
  return policy === 'non-sensitive' ? record.filter((r) => !isSensitive(r)) : record;
}

/** A claim EOB without its amounts, under the matching Basis profile; anything else unchanged. */
export function basisView(resource: FhirResource): FhirResource {
  if (resource.resourceType !== 'ExplanationOfBenefit' || resource.use !== 'claim') return resource;
  const profile = resource.meta.profile?.[0];
  if (profile === undefined || profile.endsWith('-Basis')) return resource;
  const { total: _total, payment: _payment, ...rest } = resource;
  const items = (resource.item as Array<Record<string, unknown>> | undefined) ?? [];
  return {
    ...rest,
    meta: { ...resource.meta, profile: [`${profile}-Basis`] },
    item: items.map(({ net: _net, ...item }) => ({
      ...item,
      adjudication: [{ category: concept(SYSTEM.c4bbDiscriminator, 'benefitpaymentstatus') }],
    })),
  };
}

/** A depressive disorder diagnosis, labelled sensitive, with a date of service inside any 5-year lookback from 2026. */
function sensitiveCondition(index: number): FhirResource {
  const month = String(1 + (index % 12)).padStart(2, '0');
  return {
    resourceType: 'Condition',
    id: resourceId('bh', index, 1),
    meta: {
      versionId: '1',
      lastUpdated: `2024-${month}-20T09:00:00.000Z`,
      profile: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-condition-problems-health-concerns'],
      security: SENSITIVE_LABELS.map((label) => ({ ...label })),
    } as FhirResource['meta'],
    clinicalStatus: concept('http://terminology.hl7.org/CodeSystem/condition-clinical', 'active', 'Active'),
    verificationStatus: concept(
      'http://terminology.hl7.org/CodeSystem/condition-ver-status',
      'confirmed',
      'Confirmed',
    ),
    category: [
      concept(
        'http://terminology.hl7.org/CodeSystem/condition-category',
        'problem-list-item',
        'Problem List Item',
      ),
    ],
    code: {
      coding: [
        coding(SYSTEM.snomed, '36923009', 'Major depressive disorder, single episode'),
        coding(SYSTEM.icd10cm, 'F32.9', 'Major depressive disorder, single episode, unspecified'),
      ],
      text: 'Major depressive disorder',
    },
    subject: reference('Patient', patientId(index)),
    onsetDateTime: `2024-${month}-15`,
    recordedDate: `2024-${month}-15`,
  };
}
