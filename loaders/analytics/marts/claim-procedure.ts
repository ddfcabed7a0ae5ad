import type { Mart } from '../mart.ts';

/** One row per procedure of a claim in analytics.claim (inpatient institutional claims, ICD-10-PCS). */
export const claimProcedure: Mart = {
  name: 'claim_procedure',
  description:
    'One row per procedure (ExplanationOfBenefit.procedure, ICD-10-PCS on inpatient claims) of the claims in analytics.claim.',
  reads: ['eob_procedure', 'explanation_of_benefit'],
  columns: {
    _source: 'The source the claim was loaded from.',
    claim_id: 'The claim. Joins to analytics.claim (_source, claim_id).',
    sequence: 'Procedure number within the claim.',
    patient_id: 'The member. Joins to analytics.member (_source, patient_id).',
    code: 'Procedure code, usually ICD-10-PCS.',
    system: 'Code system of code.',
    display: 'Display text of the code.',
    procedure_date: 'When the procedure was performed.',
    type: 'principal | other.',
    is_principal: 'True for the principal procedure.',
  },
  select: (s) => `
SELECT p._source,
       p.eob_id AS claim_id,
       p.sequence,
       p.patient_id,
       p.code,
       p.system,
       p.display,
       p.date AS procedure_date,
       p.type,
       coalesce(p.type = 'principal', false) AS is_principal
FROM ${s}.eob_procedure p
JOIN ${s}.explanation_of_benefit e ON e._source = p._source AND e.id = p.eob_id
WHERE e.status IS DISTINCT FROM 'entered-in-error'`,
};
