import { type ConnectionPool, sql } from '@databases/pg';

/**
 * The Analytics page's figures. Each is one SQL statement, shown beside its chart exactly as it
 * runs. Months are calendar months in UTC; a member-month is a month in which a member had a
 * coverage period; every figure keeps sources apart (the same member loaded from two sources is
 * two members here, as in the marts).
 */
export interface AnalyticsFigure {
  key: 'claims-per-month' | 'top-diagnoses' | 'pmpm' | 'utilization';
  title: string;
  sql: string;
  rows: Array<Record<string, unknown>>;
}

/** `{{schema}}` is the view schema, quoted. */
const MEMBER_MONTHS = `SELECT DISTINCT c._source, c.patient_id, m::date AS month
  FROM {{schema}}.coverage c,
       generate_series(date_trunc('month', c.period_start AT TIME ZONE 'UTC'),
                       date_trunc('month', least(coalesce(c.period_end, now()), now()) AT TIME ZONE 'UTC'),
                       interval '1 month') AS m
  WHERE c.patient_id IS NOT NULL AND c.period_start IS NOT NULL`;

const FIGURES: Array<Omit<AnalyticsFigure, 'rows'>> = [
  {
    key: 'claims-per-month',
    title: 'Claims and paid amount per month',
    sql: `SELECT to_char(date_trunc('month', billable_period_start AT TIME ZONE 'UTC'), 'YYYY-MM') AS month,
       count(*) AS claims,
       coalesce(sum(total_paid_amount), 0) AS paid
FROM {{schema}}.explanation_of_benefit
WHERE billable_period_start IS NOT NULL
GROUP BY 1
ORDER BY 1`,
  },
  {
    key: 'top-diagnoses',
    title: 'Top diagnoses on claims',
    sql: `SELECT d.code,
       max(d.display) AS diagnosis,
       count(DISTINCT (d._source, d.eob_id)) AS claims,
       count(DISTINCT (d._source, d.patient_id)) AS members
FROM {{schema}}.eob_diagnosis d
WHERE d.code IS NOT NULL
GROUP BY d.code
ORDER BY claims DESC, d.code
LIMIT 10`,
  },
  {
    key: 'pmpm',
    title: 'Paid per member per month (PMPM)',
    sql: `WITH member_months AS (
  ${MEMBER_MONTHS}
), paid AS (
  SELECT _source, patient_id, date_trunc('month', billable_period_start AT TIME ZONE 'UTC')::date AS month,
         sum(total_paid_amount) AS paid
  FROM {{schema}}.explanation_of_benefit
  GROUP BY 1, 2, 3
)
SELECT to_char(mm.month, 'YYYY-MM') AS month,
       count(*) AS member_months,
       round(coalesce(sum(p.paid), 0) / count(*), 2) AS pmpm
FROM member_months mm
LEFT JOIN paid p USING (_source, patient_id, month)
GROUP BY mm.month
ORDER BY mm.month`,
  },
  {
    key: 'utilization',
    title: 'Encounters per 1,000 member-months, by class',
    sql: `WITH member_months AS (
  ${MEMBER_MONTHS}
), visits AS (
  SELECT e._source, e.patient_id, e.class_code,
         date_trunc('month', e.period_start AT TIME ZONE 'UTC')::date AS month
  FROM {{schema}}.encounter e
)
SELECT coalesce(v.class_code, 'unknown') AS class,
       count(*) AS encounters,
       (SELECT count(*) FROM member_months) AS member_months,
       round(1000.0 * count(*) / nullif((SELECT count(*) FROM member_months), 0), 1) AS per_1000
FROM visits v
JOIN member_months USING (_source, patient_id, month)
GROUP BY 1
ORDER BY per_1000 DESC`,
  },
];

export async function analyticsFigures(db: ConnectionPool, viewSchema: string): Promise<AnalyticsFigure[]> {
  const schema = `"${viewSchema.replace(/"/g, '""')}"`;
  const figures: AnalyticsFigure[] = [];
  for (const figure of FIGURES) {
    const text = figure.sql.replaceAll('{{schema}}', schema);
    figures.push({ ...figure, sql: text, rows: await db.query(sql.__dangerous__rawValue(text)) });
  }
  return figures;
}
