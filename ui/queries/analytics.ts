import { type ConnectionPool, sql } from '@databases/pg';
import { queryRows } from '../../loaders/postgres/query-rows.ts';

/**
 * The Analytics page's figures, all from the analytics marts (docs/tables.md). Each is one SQL
 * statement, shown beside its chart exactly as it runs. Sources stay apart in the marts; these
 * figures add them up (a member loaded from two sources counts in each).
 */
export interface AnalyticsFigure {
  key: 'claims-per-month' | 'top-diagnoses' | 'pmpm' | 'utilization';
  title: string;
  sql: string;
  rows: Array<Record<string, unknown>>;
}

const FIGURES: Array<Omit<AnalyticsFigure, 'rows'>> = [
  {
    key: 'claims-per-month',
    title: 'Claims and paid amount per month of service',
    sql: `SELECT to_char(service_month, 'YYYY-MM') AS month,
       count(*) AS claims,
       coalesce(sum(paid_amount), 0) AS paid
FROM analytics.claim
WHERE status IS DISTINCT FROM 'cancelled' AND service_month IS NOT NULL
GROUP BY service_month
ORDER BY service_month`,
  },
  {
    key: 'top-diagnoses',
    title: 'Top diagnoses on claims',
    sql: `SELECT code,
       max(display) AS diagnosis,
       count(DISTINCT (_source, claim_id)) AS claims,
       count(DISTINCT (_source, patient_id)) AS members
FROM analytics.claim_diagnosis
WHERE code IS NOT NULL
GROUP BY code
ORDER BY claims DESC, code
LIMIT 10`,
  },
  {
    key: 'pmpm',
    title: 'Paid per member per month (PMPM)',
    sql: `WITH per_source AS (
  SELECT _source, month, max(member_months) AS member_months, sum(paid_amount) AS paid
  FROM analytics.pmpm
  GROUP BY _source, month
)
SELECT to_char(month, 'YYYY-MM') AS month,
       sum(member_months) AS member_months,
       round(sum(paid) / nullif(sum(member_months), 0), 2) AS pmpm
FROM per_source
GROUP BY month
ORDER BY month`,
  },
  {
    key: 'utilization',
    title: 'Utilization per 1,000 member-months',
    sql: `SELECT sum(member_months) AS member_months,
       round(sum(inpatient_admissions) * 1000.0 / nullif(sum(member_months), 0), 1) AS inpatient_admissions,
       round(sum(emergency_visits) * 1000.0 / nullif(sum(member_months), 0), 1) AS emergency_visits,
       round(sum(office_visits) * 1000.0 / nullif(sum(member_months), 0), 1) AS office_visits
FROM analytics.utilization`,
  },
];

export async function analyticsFigures(db: ConnectionPool): Promise<AnalyticsFigure[]> {
  const figures: AnalyticsFigure[] = [];
  for (const figure of FIGURES) {
    figures.push({ ...figure, rows: await queryRows(db, sql.__dangerous__rawValue(figure.sql)) });
  }
  return figures;
}
