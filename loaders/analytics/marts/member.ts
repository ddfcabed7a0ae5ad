import type { Mart } from '../mart.ts';

/** One row per member per source, with the coverage in force today (else the latest) and its payer. */
export const member: Mart = {
  name: 'member',
  description:
    'One row per member per source: who the member is, and their current coverage (the one in force today, else the latest that ended) with its plan and payer.',
  reads: ['patient', 'coverage', 'organization'],
  columns: {
    _source: 'The source the member was loaded from. Join other marts on (_source, patient_id).',
    patient_id: 'The member’s Patient id; unique per source.',
    member_id: 'Payer member id (Patient identifier typed MB, else the current coverage’s).',
    full_name: 'Full name.',
    family_name: 'Family name.',
    given_name: 'Given names.',
    birth_date: 'Date of birth.',
    gender: 'Administrative gender: male | female | other | unknown.',
    deceased: 'True when the member is known to have died.',
    coverage_id: 'The current coverage (active status): in force today, else the one that ended last.',
    covered_today:
      'True when that coverage is in force today (start on or before today, no end or an end today or later).',
    coverage_start: 'Start of the current coverage.',
    coverage_end: 'End of the current coverage; null while open-ended.',
    coverage_type: 'Coverage type as displayed (e.g. Commercial Managed Care - HMO, MEDICARE).',
    plan_name: 'Plan name of the current coverage.',
    group_id: 'Employer group number of the current coverage.',
    payer_id: 'The payer (Organization id) of the current coverage.',
    payer_name: 'The payer’s name (the Organization’s, else as sent on the coverage).',
  },
  select: (s) => `
SELECT p._source,
       p.id AS patient_id,
       coalesce(p.member_id, c.member_id) AS member_id,
       p.full_name,
       p.family_name,
       p.given_name,
       p.birth_date,
       p.gender,
       p.deceased,
       c.id AS coverage_id,
       coalesce(c.period_start <= current_date AND (c.period_end IS NULL OR c.period_end >= current_date), false)
         AS covered_today,
       c.period_start AS coverage_start,
       c.period_end AS coverage_end,
       c.type_display AS coverage_type,
       c.plan_name,
       c.group_id,
       c.payor_id AS payer_id,
       coalesce(o.name, c.payor_name) AS payer_name
FROM ${s}.patient p
LEFT JOIN LATERAL (
  SELECT c.*
  FROM ${s}.coverage c
  WHERE c._source = p._source AND c.patient_id = p.id AND (c.status IS NULL OR c.status = 'active')
  ORDER BY (c.period_start <= current_date AND (c.period_end IS NULL OR c.period_end >= current_date)) DESC,
           c.period_end DESC NULLS FIRST, c.period_start DESC NULLS LAST, coalesce(c.coverage_order, 1), c.id
  LIMIT 1
) c ON true
LEFT JOIN ${s}.organization o ON o._source = c._source AND o.id = c.payor_id`,
};
