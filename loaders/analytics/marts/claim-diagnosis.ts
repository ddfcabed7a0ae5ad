import type { Mart } from '../mart.ts';

/** One row per diagnosis of a claim in analytics.claim, codes resolved from Conditions when referenced. */
export const claimDiagnosis: Mart = {
  name: 'claim_diagnosis',
  description:
    'One row per diagnosis of the claims in analytics.claim, with its code (resolved from the Condition when the claim references one) and type.',
  reads: ['eob_diagnosis', 'explanation_of_benefit', 'condition'],
  columns: {
    _source: 'The source the claim was loaded from.',
    claim_id: 'The claim. Joins to analytics.claim (_source, claim_id).',
    sequence: 'Diagnosis number within the claim (claim_line points at it).',
    patient_id: 'The member. Joins to analytics.member (_source, patient_id).',
    code: 'Diagnosis code, usually ICD-10-CM.',
    system: 'Code system of code.',
    display: 'Display text of the code.',
    type: 'principal | admitting | secondary | other | ...',
    is_principal: 'True for the principal diagnosis.',
    on_admission: 'Present on admission indicator (inpatient): Y | N | U | W.',
  },
  select: (s) => `
SELECT d._source,
       d.eob_id AS claim_id,
       d.sequence,
       d.patient_id,
       coalesce(d.code, c.code) AS code,
       CASE WHEN d.code IS NOT NULL THEN d.system ELSE c.system END AS system,
       CASE WHEN d.code IS NOT NULL THEN d.display ELSE c.display END AS display,
       d.type,
       coalesce(d.type = 'principal', false) AS is_principal,
       d.on_admission
FROM ${s}.eob_diagnosis d
JOIN ${s}.explanation_of_benefit e ON e._source = d._source AND e.id = d.eob_id
LEFT JOIN ${s}.condition c ON c._source = d._source AND c.id = d.condition_id
WHERE e.status IS DISTINCT FROM 'entered-in-error'`,
};
