/** A FHIR resource as the sandbox holds it: always an id and meta.versionId / meta.lastUpdated. */
export interface FhirResource {
  resourceType: string;
  id: string;
  meta: { versionId: string; lastUpdated: string; profile?: string[] };
  [element: string]: unknown;
}

/** The resource types the generator writes, in file order. */
export const GENERATED_TYPES = [
  'Patient',
  'Coverage',
  'AllergyIntolerance',
  'Encounter',
  'Condition',
  'Observation',
  'Procedure',
  'MedicationRequest',
  'Immunization',
  'ExplanationOfBenefit',
  'Organization',
  'Location',
  'Practitioner',
] as const;

/** Types that belong to no member: generated once per seed. */
export const SHARED_TYPES: ReadonlySet<string> = new Set(['Organization', 'Location', 'Practitioner']);

export function reference(
  type: string,
  id: string,
  display?: string,
): { reference: string; display?: string } {
  return display === undefined ? { reference: `${type}/${id}` } : { reference: `${type}/${id}`, display };
}

export function coding(system: string, code: string, display?: string) {
  return display === undefined ? { system, code } : { system, code, display };
}

export function concept(system: string, code: string, display?: string) {
  return display === undefined
    ? { coding: [coding(system, code)] }
    : { coding: [coding(system, code, display)], text: display };
}
