import type { Mart } from '../mart.ts';
import { ENROLLED_MONTHS } from './enrolled-months.ts';

/**
 * Paid and allowed per member per month by claim type. A claim counts in the month of its
 * first date of service when its member was covered that month (a member_month row); cancelled
 * claims do not count. Every covered month has a row for every claim type the source has.
 */
export const pmpm: Mart = {
  name: 'pmpm',
  description:
    'Paid and allowed per member per month (PMPM) by source, month and claim type: claims (not cancelled) counted in their service month when the member was covered that month, over that month’s member months. Overall PMPM of a month: sum(paid_amount) / max(member_months).',
  reads: [],
  uses: ['claim', 'member_month'],
  columns: {
    _source: 'The source.',
    month: 'First day of the calendar month.',
    claim_type:
      'Claim type (institutional | professional | pharmacy | oral | vision; unknown when not sent).',
    member_months: 'Members covered that month (the denominator; the same on every claim type’s row).',
    claims: 'Claims of the type in the month.',
    financial_claims:
      'Of those, claims that carry amounts (-Basis claims carry none and add nothing to the sums).',
    paid_amount: 'Sum of the claims’ paid totals.',
    allowed_amount: 'Sum of the claims’ allowed totals.',
    paid_pmpm: 'paid_amount / member_months.',
    allowed_pmpm: 'allowed_amount / member_months.',
  },
  // Each step materialized: claims are summed once, then spread over the covered months, whatever
  // the planner guesses of the view tables' sizes.
  select: () => `${ENROLLED_MONTHS}, claim_sums AS MATERIALIZED (
  SELECT c._source, c.service_month AS month, coalesce(c.claim_type, 'unknown') AS claim_type,
         count(*)::int AS claims, (count(*) FILTER (WHERE c.is_financial))::int AS financial_claims,
         sum(c.paid_amount) AS paid_amount, sum(c.allowed_amount) AS allowed_amount
  FROM analytics.claim c
  JOIN enrolled_members mm
    ON mm._source = c._source AND mm.patient_id = c.patient_id AND mm.month = c.service_month
  WHERE c.status IS DISTINCT FROM 'cancelled'
  GROUP BY 1, 2, 3
), claim_types AS MATERIALIZED (
  SELECT DISTINCT _source, coalesce(claim_type, 'unknown') AS claim_type FROM analytics.claim
)
SELECT e._source,
       e.month,
       t.claim_type,
       e.member_months,
       coalesce(c.claims, 0) AS claims,
       coalesce(c.financial_claims, 0) AS financial_claims,
       coalesce(c.paid_amount, 0) AS paid_amount,
       coalesce(c.allowed_amount, 0) AS allowed_amount,
       round(coalesce(c.paid_amount, 0) / e.member_months, 2) AS paid_pmpm,
       round(coalesce(c.allowed_amount, 0) / e.member_months, 2) AS allowed_pmpm
FROM enrolled e
JOIN claim_types t ON t._source = e._source
LEFT JOIN claim_sums c ON c._source = e._source AND c.month = e.month AND c.claim_type = t.claim_type`,
};
