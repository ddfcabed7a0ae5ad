import { type Mart, monthOf } from '../mart.ts';

/**
 * One row per member per calendar month in which they had active coverage on any day: the
 * denominator of per-member-per-month figures. Open-ended coverage counts up to this month;
 * months after this one are not counted (no claims can have been incurred in them yet).
 */
export const memberMonth: Mart = {
  name: 'member_month',
  description:
    'One row per member per calendar month with active coverage on any day of it, up to the current month: the denominator of per-member-per-month (PMPM) figures.',
  reads: ['coverage'],
  columns: {
    _source: 'The source the coverage was loaded from.',
    patient_id: 'The member (Patient id). Joins to analytics.member (_source, patient_id).',
    month: 'First day of the calendar month.',
    coverage_id: 'The coverage that month (the primary one, by coverage order, when several overlap).',
    plan_name: 'Plan name of that coverage.',
    payer_id: 'Payer (Organization id) of that coverage.',
  },
  select: (s) => `
SELECT c._source,
       c.patient_id,
       m.month::date AS month,
       (array_agg(c.id ORDER BY coalesce(c.coverage_order, 1), c.period_start DESC, c.id))[1] AS coverage_id,
       (array_agg(c.plan_name ORDER BY coalesce(c.coverage_order, 1), c.period_start DESC, c.id))[1] AS plan_name,
       (array_agg(c.payor_id ORDER BY coalesce(c.coverage_order, 1), c.period_start DESC, c.id))[1] AS payer_id
FROM ${s}.coverage c
CROSS JOIN LATERAL generate_series(
  ${monthOf('c.period_start')}::timestamp,
  ${monthOf('least(coalesce(c.period_end, current_date), current_date)')}::timestamp,
  interval '1 month') AS m(month)
WHERE c.patient_id IS NOT NULL AND c.period_start IS NOT NULL AND (c.status IS NULL OR c.status = 'active')
GROUP BY c._source, c.patient_id, m.month`,
};
