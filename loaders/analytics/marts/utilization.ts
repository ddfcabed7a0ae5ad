import type { Mart } from '../mart.ts';
import { ENROLLED_MONTHS } from './enrolled-months.ts';

/**
 * Inpatient admissions, emergency visits and office visits per 1,000 member-months, from
 * claims (not cancelled) of members covered in the month of the event:
 * - an inpatient admission is an inpatient institutional claim (subtype inpatient, or a type
 *   of bill 11x), counted in its admission month;
 * - an emergency visit is a member's date of service with a claim line for emergency care
 *   (revenue code 045x, place of service 23, or CPT 99281-99285): the facility's and the
 *   physician's claims for one visit count once;
 * - an office visit is a member's date of service with a professional line in an office
 *   (place of service 11) or for an office / outpatient E/M code (CPT 99202-99215).
 */
export const utilization: Mart = {
  name: 'utilization',
  description:
    'Inpatient admissions, emergency visits and office visits per source and month, and per 1,000 member-months, from claims (not cancelled) of covered members. An emergency or office visit is one member and date of service, however many claims bill it. Rate over several months: sum(events) * 1000 / sum(member_months).',
  reads: [],
  uses: ['claim', 'claim_line', 'member_month'],
  columns: {
    _source: 'The source.',
    month: 'First day of the calendar month.',
    member_months: 'Members covered that month.',
    inpatient_admissions:
      'Inpatient institutional claims (subtype inpatient or type of bill 11x) admitted in the month.',
    emergency_visits:
      'Member dates of service with emergency care (revenue code 045x, place of service 23 or CPT 99281-99285).',
    office_visits:
      'Member dates of service with a professional office visit (place of service 11 or CPT 99202-99215).',
    inpatient_admissions_per_1000: 'inpatient_admissions per 1,000 member-months.',
    emergency_visits_per_1000: 'emergency_visits per 1,000 member-months.',
    office_visits_per_1000: 'office_visits per 1,000 member-months.',
  },
  select: () => `${ENROLLED_MONTHS}, events AS MATERIALIZED (
  SELECT c._source, c.patient_id, date_trunc('month', coalesce(c.admission_start, c.service_start)::timestamp)::date AS month,
         'inpatient' AS kind, c.claim_id AS event
  FROM analytics.claim c
  WHERE c.status IS DISTINCT FROM 'cancelled' AND c.claim_type = 'institutional'
    AND (c.claim_subtype = 'inpatient' OR c.type_of_bill ~ '^0?11')
  UNION
  SELECT l._source, l.patient_id, l.service_month, 'emergency', l.service_start::text
  FROM analytics.claim_line l
  WHERE l.claim_status IS DISTINCT FROM 'cancelled' AND l.service_start IS NOT NULL
    AND (l.revenue_code ~ '^045' OR l.place_of_service_code = '23' OR l.service_code ~ '^9928[1-5]$')
  UNION
  SELECT l._source, l.patient_id, l.service_month, 'office', l.service_start::text
  FROM analytics.claim_line l
  WHERE l.claim_status IS DISTINCT FROM 'cancelled' AND l.service_start IS NOT NULL AND l.claim_type = 'professional'
    AND (l.place_of_service_code = '11' OR l.service_code ~ '^992(0[2-5]|1[1-5])$')
), covered_events AS MATERIALIZED (
  SELECT ev.* FROM events ev
  JOIN enrolled_members mm ON mm._source = ev._source AND mm.patient_id = ev.patient_id AND mm.month = ev.month
)
SELECT e._source,
       e.month,
       e.member_months,
       count(*) FILTER (WHERE v.kind = 'inpatient')::int AS inpatient_admissions,
       count(*) FILTER (WHERE v.kind = 'emergency')::int AS emergency_visits,
       count(*) FILTER (WHERE v.kind = 'office')::int AS office_visits,
       round(count(*) FILTER (WHERE v.kind = 'inpatient') * 1000.0 / e.member_months, 2) AS inpatient_admissions_per_1000,
       round(count(*) FILTER (WHERE v.kind = 'emergency') * 1000.0 / e.member_months, 2) AS emergency_visits_per_1000,
       round(count(*) FILTER (WHERE v.kind = 'office') * 1000.0 / e.member_months, 2) AS office_visits_per_1000
FROM enrolled e
LEFT JOIN covered_events v ON v._source = e._source AND v.month = e.month
GROUP BY e._source, e.month, e.member_months`,
};
