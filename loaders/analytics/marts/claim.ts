import { type Mart, monthOf } from '../mart.ts';

/**
 * One row per adjudicated claim (ExplanationOfBenefit other than prior authorizations, those
 * entered in error left out), with dates as `date`, providers and facility resolved by
 * (_source, id), the principal diagnosis, and the totals BI tools add up.
 */
export const claim: Mart = {
  name: 'claim',
  description:
    'One row per adjudicated claim (not prior authorizations; claims entered in error left out): type, status, dates, billing and rendering provider, facility, principal diagnosis and totals. Sum the amounts of financial claims only (is_financial): -Basis claims carry none.',
  reads: [
    'explanation_of_benefit',
    'eob_item',
    'eob_supporting_info',
    'organization',
    'practitioner',
    'condition',
  ],
  columns: {
    _source: 'The source the claim was loaded from.',
    claim_id:
      'The claim (ExplanationOfBenefit id); unique per source. claim_line, claim_diagnosis and claim_procedure join on (_source, claim_id).',
    patient_id: 'The member. Joins to analytics.member (_source, patient_id).',
    claim_identifier: 'Payer claim number (CARIN unique claim id).',
    claim_type: 'institutional | professional | pharmacy | oral | vision.',
    claim_subtype: 'inpatient | outpatient for institutional claims.',
    status: 'active | cancelled (cancelled claims are not counted in pmpm or utilization).',
    outcome: 'Adjudication outcome: complete | partial | queued | error.',
    is_financial: 'True when the claim carries amounts (a full CARIN profile); false for -Basis claims.',
    service_start: 'First date of service: the earliest line date, else the start of the billable period.',
    service_end: 'Last date of service: the latest line date, else the end of the billable period.',
    service_month:
      'First day of the month of service_start: the month the claim counts in (pmpm, utilization).',
    billable_period_start: 'Start of the billable period.',
    billable_period_end: 'End of the billable period.',
    received_date: 'When the payer received the claim.',
    processed_date: 'When the claim was adjudicated (ExplanationOfBenefit.created).',
    payment_date: 'When the claim was paid.',
    admission_start: 'Admission date (inpatient).',
    admission_end: 'Discharge date (inpatient).',
    billing_provider_id: 'Billing provider: an Organization or a Practitioner id.',
    billing_provider_name: 'Billing provider’s name.',
    rendering_provider_id:
      'Practitioner who provided the care: the attending practitioner (institutional), else the billing provider when it is a practitioner.',
    rendering_provider_name: 'Rendering provider’s name.',
    facility_id:
      'Where care was given: the service facility, else the billing organization of an institutional claim.',
    facility_name: 'Facility’s name.',
    principal_diagnosis_code:
      'Principal diagnosis code (ICD-10-CM), from the claim or the Condition it references.',
    principal_diagnosis_system: 'Code system of the principal diagnosis.',
    drg_code: 'Diagnosis related group (inpatient).',
    type_of_bill: 'NUBC type of bill (institutional).',
    network_status: 'innetwork | outofnetwork.',
    payer_id: 'The payer (Organization id).',
    payer_name: 'The payer’s name.',
    coverage_id: 'The coverage the claim was adjudicated under.',
    lines: 'Number of claim lines.',
    submitted_amount: 'Total submitted (billed).',
    allowed_amount: 'Total allowed (eligible).',
    paid_amount: 'Total the plan paid (benefit).',
    member_liability_amount: 'Total the member owes (deductible, copay, coinsurance, non-covered).',
    deductible_amount: 'Total applied to the deductible.',
    copay_amount: 'Total copay.',
    coinsurance_amount: 'Total coinsurance.',
  },
  select: (s) => `
SELECT e._source,
       e.id AS claim_id,
       e.patient_id,
       e.claim_identifier,
       e.claim_type,
       e.claim_subtype,
       e.status,
       e.outcome,
       e.is_financial,
       coalesce(l.service_start, e.billable_period_start) AS service_start,
       coalesce(l.service_end, e.billable_period_end) AS service_end,
       ${monthOf('coalesce(l.service_start, e.billable_period_start)')} AS service_month,
       e.billable_period_start,
       e.billable_period_end,
       e.claim_received_date AS received_date,
       e.created AS processed_date,
       e.payment_date,
       e.admission_start,
       e.admission_end,
       e.provider_id AS billing_provider_id,
       coalesce(bo.name, bp.full_name) AS billing_provider_name,
       rp.id AS rendering_provider_id,
       rp.full_name AS rendering_provider_name,
       fo.id AS facility_id,
       fo.name AS facility_name,
       coalesce(e.principal_diagnosis_code, pc.code) AS principal_diagnosis_code,
       CASE WHEN e.principal_diagnosis_code IS NOT NULL THEN e.principal_diagnosis_system ELSE pc.system END
         AS principal_diagnosis_system,
       e.drg_code,
       e.type_of_bill,
       e.network_status,
       e.insurer_id AS payer_id,
       coalesce(io.name, e.insurer_name) AS payer_name,
       e.focal_coverage_id AS coverage_id,
       coalesce(l.lines, 0) AS lines,
       e.total_submitted_amount AS submitted_amount,
       e.total_allowed_amount AS allowed_amount,
       e.total_paid_amount AS paid_amount,
       e.total_member_liability_amount AS member_liability_amount,
       e.total_deductible_amount AS deductible_amount,
       e.total_copay_amount AS copay_amount,
       e.total_coinsurance_amount AS coinsurance_amount
FROM ${s}.explanation_of_benefit e
LEFT JOIN (
  SELECT i._source, i.eob_id, min(i.service_start) AS service_start,
         max(coalesce(i.service_end, i.service_start)) AS service_end, count(*)::int AS lines
  FROM ${s}.eob_item i GROUP BY i._source, i.eob_id
) l ON l._source = e._source AND l.eob_id = e.id
LEFT JOIN ${s}.organization bo ON bo._source = e._source AND bo.id = e.provider_id
LEFT JOIN ${s}.practitioner bp ON bp._source = e._source AND bp.id = e.provider_id
LEFT JOIN ${s}.practitioner rp ON rp._source = e._source AND rp.id = coalesce(e.attending_practitioner_id, bp.id)
LEFT JOIN (
  SELECT DISTINCT ON (si._source, si.eob_id) si._source, si.eob_id, si.value_reference_id
  FROM ${s}.eob_supporting_info si WHERE si.category_code = 'servicefacility'
  ORDER BY si._source, si.eob_id, si.sequence
) f ON f._source = e._source AND f.eob_id = e.id
LEFT JOIN ${s}.organization fo ON fo._source = e._source
  AND fo.id = coalesce(f.value_reference_id, CASE WHEN e.claim_type = 'institutional' THEN bo.id END)
LEFT JOIN ${s}.organization io ON io._source = e._source AND io.id = e.insurer_id
LEFT JOIN ${s}.condition pc ON pc._source = e._source AND pc.id = e.principal_diagnosis_condition_id
WHERE e.status IS DISTINCT FROM 'entered-in-error'`,
};
