/**
 * The sections of a member's page: which view table each reads, which FHIR resource type its
 * rows come from (for the raw view from fhir_raw), and how its rows are ordered. Every read is
 * keyed on the member's (source, Patient id): a row of another member never qualifies.
 */
export interface MemberSection {
  key: string;
  title: string;
  /** The view table (in the view schema). */
  table: string;
  resourceType: string;
  /** The column that names the member: `id` in patient, `patient_id` elsewhere. */
  memberColumn: 'id' | 'patient_id';
  /** ORDER BY of the rendered rows (a constant, never input). */
  order: string;
  /** At most this many rows are rendered (and raw resources shown). */
  limit: number;
}

export const MEMBER_SECTIONS: readonly MemberSection[] = [
  section('demographics', 'Demographics', 'patient', 'Patient', 'id', 'id', 1),
  section(
    'coverage',
    'Coverage periods',
    'coverage',
    'Coverage',
    'patient_id',
    'period_start DESC NULLS LAST, id',
    100,
  ),
  section(
    'encounters',
    'Encounters',
    'encounter',
    'Encounter',
    'patient_id',
    'period_start DESC NULLS LAST, id',
    500,
  ),
  section(
    'conditions',
    'Conditions',
    'condition',
    'Condition',
    'patient_id',
    'onset DESC NULLS LAST, id',
    500,
  ),
  section(
    'medications',
    'Medications',
    'medication_request',
    'MedicationRequest',
    'patient_id',
    'authored_on DESC NULLS LAST, id',
    500,
  ),
  section(
    'allergies',
    'Allergies',
    'allergy_intolerance',
    'AllergyIntolerance',
    'patient_id',
    'recorded_date DESC NULLS LAST, id',
    200,
  ),
  section(
    'immunizations',
    'Immunizations',
    'immunization',
    'Immunization',
    'patient_id',
    'occurrence DESC NULLS LAST, id',
    200,
  ),
  section(
    'observations',
    'Latest observations',
    'observation',
    'Observation',
    'patient_id',
    'effective DESC NULLS LAST, id',
    100,
  ),
  section(
    'claims',
    'Claims',
    'explanation_of_benefit',
    'ExplanationOfBenefit',
    'patient_id',
    'billable_period_start DESC NULLS LAST, id',
    200,
  ),
  section(
    'prior-authorizations',
    'Prior authorizations',
    'prior_authorization',
    'ExplanationOfBenefit',
    'patient_id',
    'created DESC NULLS LAST, id',
    100,
  ),
];

function section(
  key: string,
  title: string,
  table: string,
  resourceType: string,
  memberColumn: 'id' | 'patient_id',
  order: string,
  limit: number,
): MemberSection {
  return { key, title, table, resourceType, memberColumn, order, limit };
}
