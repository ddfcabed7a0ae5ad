import { type Mart, monthOf } from '../mart.ts';

/** One row per line of a claim in analytics.claim. */
export const claimLine: Mart = {
  name: 'claim_line',
  description:
    'One row per claim line (ExplanationOfBenefit.item) of the claims in analytics.claim: service, dates, place of service and line amounts.',
  reads: ['eob_item', 'explanation_of_benefit', 'eob_diagnosis'],
  columns: {
    _source: 'The source the claim was loaded from.',
    claim_id: 'The claim. Joins to analytics.claim (_source, claim_id).',
    line_number: 'Line number, unique within the claim.',
    patient_id: 'The member. Joins to analytics.member (_source, patient_id).',
    claim_type: 'The claim’s type (institutional | professional | pharmacy | oral | vision).',
    claim_status: 'The claim’s status (active | cancelled).',
    service_start: 'Date of service (or start of the service period).',
    service_end: 'End of the service period (the date of service when there is no period).',
    service_month: 'First day of the month of service_start.',
    revenue_code: 'NUBC revenue code (institutional lines).',
    service_code: 'CPT/HCPCS, NDC (pharmacy) or CDT (oral) code.',
    service_system: 'Code system of service_code.',
    service_display: 'Display text of service_code.',
    modifiers: 'Procedure modifiers, comma-separated.',
    place_of_service_code: 'CMS place of service code (professional and oral lines).',
    quantity: 'Units of service.',
    diagnosis_code: 'The first diagnosis the line points at.',
    submitted_amount: 'Line submitted (billed).',
    allowed_amount: 'Line allowed (eligible).',
    paid_amount: 'Line amount the plan paid (benefit).',
    member_liability_amount: 'Line amount the member owes.',
    deductible_amount: 'Line amount applied to the deductible.',
    copay_amount: 'Line copay.',
    coinsurance_amount: 'Line coinsurance.',
  },
  select: (s) => `
SELECT i._source,
       i.eob_id AS claim_id,
       i.sequence AS line_number,
       i.patient_id,
       e.claim_type,
       e.status AS claim_status,
       i.service_start,
       coalesce(i.service_end, i.service_start) AS service_end,
       ${monthOf('i.service_start')} AS service_month,
       i.revenue_code,
       i.service_code,
       i.service_system,
       i.service_display,
       i.modifiers,
       i.place_of_service_code,
       i.quantity,
       d.code AS diagnosis_code,
       i.submitted_amount,
       i.allowed_amount,
       i.paid_amount,
       i.member_liability_amount,
       i.deductible_amount,
       i.copay_amount,
       i.coinsurance_amount
FROM ${s}.eob_item i
JOIN ${s}.explanation_of_benefit e ON e._source = i._source AND e.id = i.eob_id
LEFT JOIN ${s}.eob_diagnosis d ON d._source = i._source AND d.eob_id = i.eob_id AND d.sequence = i.diagnosis_sequence
WHERE e.status IS DISTINCT FROM 'entered-in-error'`,
};
