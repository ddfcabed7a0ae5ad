import { SYSTEM } from './codes.ts';
import { demographics } from './members.ts';
import { rngFor } from './prng.ts';
import { coding, concept, type FhirResource, reference } from './resource.ts';

/**
 * What belongs to no single member: the payer, provider organizations and their facilities
 * (Locations), practitioners, and the Provider Access attribution Groups (one per provider NPI).
 */

/** Resources from before any `advance()`: a fixed instant, so the same seed gives the same bytes. */
export const SHARED_LAST_UPDATED = '2024-01-02T08:00:00.000Z';
export const PAYER_ID = 'org-payer';
export const PAYER_NAME = 'Sandbox Health Plan';
export const PROVIDER_ORGANIZATIONS = 4;
export const PRACTITIONERS = 8;
export const GROUPS = 3;

const ORG_NAMES = [
  'Beacon Hill General Hospital',
  'Merrimack Valley Clinic',
  'Three Rivers Medical Center',
  'Harbor Family Practice',
];
const PRACTITIONER_NAMES: ReadonlyArray<[string, string, 'female' | 'male']> = [
  ['Amara', 'Osei', 'female'],
  ['Daniel', 'Reyes', 'male'],
  ['Helen', 'Park', 'female'],
  ['Marcus', 'Webb', 'male'],
  ['Sofia', 'Lindqvist', 'female'],
  ['Tomas', 'Novak', 'male'],
  ['Yuki', 'Mori', 'female'],
  ['Ravi', 'Shah', 'male'],
];

export function organizationId(n: number): string {
  return `org-${n + 1}`;
}
/** The facility (US Core Location) where organization n sees patients. */
export function locationId(n: number): string {
  return `loc-${n + 1}`;
}
export function locationName(n: number): string {
  return `${ORG_NAMES[n] ?? `Provider Organization ${n + 1}`} - Main Campus`;
}
/** Harbor Family Practice (org-4) belongs to the Beacon Hill health system (org-1): Organization.partOf. */
const PART_OF: ReadonlyMap<number, number> = new Map([[3, 0]]);
export function practitionerId(n: number): string {
  return `pr-${n + 1}`;
}
export function groupId(n: number): string {
  return `grp-${n + 1}`;
}

/** A 10-digit NPI with its Luhn check digit (computed over the 80840 prefix). */
export function npi(seed: number, kind: number, n: number): string {
  const rng = rngFor(seed, kind, n, 77);
  const base = `1${String(rng.int(0, 99_999_999)).padStart(8, '0')}`;
  return base + luhnCheckDigit(`80840${base}`);
}

function luhnCheckDigit(digits: string): string {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return String((10 - (sum % 10)) % 10);
}

export function* sharedResources(seed: number): Generator<FhirResource> {
  yield payer();
  for (let n = 0; n < PROVIDER_ORGANIZATIONS; n++) yield providerOrganization(seed, n);
  for (let n = 0; n < PROVIDER_ORGANIZATIONS; n++) yield location(seed, n);
  for (let n = 0; n < PRACTITIONERS; n++) yield practitioner(seed, n);
}

function meta(profile: string): FhirResource['meta'] {
  return { versionId: '1', lastUpdated: SHARED_LAST_UPDATED, profile: [profile] };
}

function payer(): FhirResource {
  return {
    resourceType: 'Organization',
    id: PAYER_ID,
    meta: meta('http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-Organization'),
    identifier: [{ system: SYSTEM.tin, value: '043456789' }],
    active: true,
    type: [concept('http://terminology.hl7.org/CodeSystem/organization-type', 'pay', 'Payer')],
    name: PAYER_NAME,
    telecom: [{ system: 'phone', value: '(617) 555-0100' }],
    address: [{ line: ['1 Sandbox Way'], city: 'Boston', state: 'MA', postalCode: '02110', country: 'US' }],
  };
}

function providerOrganization(seed: number, n: number): FhirResource {
  const place = demographics(seed, 1000 + n);
  return {
    resourceType: 'Organization',
    id: organizationId(n),
    meta: meta('http://hl7.org/fhir/us/core/StructureDefinition/us-core-organization'),
    identifier: [
      { system: SYSTEM.npi, value: npi(seed, 1, n) },
      { system: SYSTEM.tin, value: `04${String(rngFor(seed, n, 5).int(1_000_000, 9_999_999))}` },
    ],
    active: true,
    type: [concept('http://terminology.hl7.org/CodeSystem/organization-type', 'prov', 'Healthcare Provider')],
    name: ORG_NAMES[n] ?? `Provider Organization ${n + 1}`,
    telecom: [{ system: 'phone', value: place.phone }],
    address: [
      {
        line: [place.line],
        city: place.city,
        state: place.state,
        postalCode: place.postalCode,
        country: 'US',
      },
    ],
    ...(PART_OF.has(n) ? { partOf: reference('Organization', organizationId(PART_OF.get(n)!)) } : {}),
  };
}

/** The organization's facility, at the organization's address (US Core Location). */
function location(seed: number, n: number): FhirResource {
  const place = demographics(seed, 1000 + n);
  return {
    resourceType: 'Location',
    id: locationId(n),
    meta: meta('http://hl7.org/fhir/us/core/StructureDefinition/us-core-location'),
    status: 'active',
    name: locationName(n),
    mode: 'instance',
    type: [
      concept(
        'http://terminology.hl7.org/CodeSystem/v3-RoleCode',
        n === 0 || n === 2 ? 'HOSP' : 'COMM',
        n === 0 || n === 2 ? 'Hospital' : 'Community Location',
      ),
    ],
    telecom: [{ system: 'phone', value: place.phone }],
    address: {
      line: [place.line],
      city: place.city,
      state: place.state,
      postalCode: place.postalCode,
      country: 'US',
    },
    managingOrganization: reference('Organization', organizationId(n)),
  };
}

function practitioner(seed: number, n: number): FhirResource {
  const [given, family, gender] = PRACTITIONER_NAMES[n % PRACTITIONER_NAMES.length] ?? [
    'Alex',
    'Doe',
    'female',
  ];
  const place = demographics(seed, 2000 + n);
  return {
    resourceType: 'Practitioner',
    id: practitionerId(n),
    meta: meta('http://hl7.org/fhir/us/carin-bb/StructureDefinition/C4BB-Practitioner'),
    identifier: [{ system: SYSTEM.npi, value: practitionerNpi(seed, n) }],
    active: true,
    name: [{ use: 'official', family, given: [given], prefix: ['Dr.'] }],
    gender,
    telecom: [{ system: 'phone', value: place.phone, use: 'work' }],
    address: [{ city: place.city, state: place.state, postalCode: place.postalCode, country: 'US' }],
  };
}

export function practitionerNpi(seed: number, n: number): string {
  return npi(seed, 2, n);
}

/** The attribution Group a member belongs to: every member is attributed to exactly one NPI. */
export function groupOf(index: number): number {
  return index % GROUPS;
}

/**
 * A PDex provider attribution Group (based on ATR atr-group), one per attributed provider NPI.
 * @see Da Vinci PDex 2.2.0 provider-access-api.md (PDexProviderGroup)
 */
export function attributionGroup(
  seed: number,
  n: number,
  patients: number,
  lastUpdated: string,
): FhirResource {
  const providerNpi = practitionerNpi(seed, n);
  const members: unknown[] = [];
  for (let index = n; index < patients; index += GROUPS) {
    members.push({ entity: reference('Patient', demographics(seed, index).patientId), inactive: false });
  }
  const code = coding(
    'http://hl7.org/fhir/us/davinci-pdex/CodeSystem/PdexMemberAttributionCS',
    'pdexprovidergroup',
  );
  return {
    resourceType: 'Group',
    id: groupId(n),
    meta: {
      versionId: '1',
      lastUpdated,
      profile: ['http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/pdex-provider-group'],
    },
    identifier: [{ system: SYSTEM.npi, value: providerNpi }],
    active: true,
    type: 'person',
    actual: true,
    code: { coding: [code] },
    name: `Members attributed to NPI ${providerNpi}`,
    quantity: members.length,
    managingEntity: reference('Organization', PAYER_ID, PAYER_NAME),
    characteristic: [
      {
        code: { coding: [code] },
        valueReference: { identifier: { system: SYSTEM.npi, value: providerNpi } },
        exclude: false,
        period: { start: lastUpdated.slice(0, 10) },
      },
    ],
    member: members,
  };
}
