/**
 * The opening of a mart's query over covered member-months: `enrolled_members` (one row per
 * member, source and covered month) and `enrolled` (member-months per source and month, the
 * denominator of every per-member-month rate). Materialized, so the rest of the query joins a
 * computed set whatever the planner guesses of the view tables' sizes. Continue with `, name AS`.
 */
export const ENROLLED_MONTHS = `
WITH enrolled_members AS MATERIALIZED (
  SELECT _source, patient_id, month FROM analytics.member_month
), enrolled AS MATERIALIZED (
  SELECT _source, month, count(*)::int AS member_months FROM enrolled_members GROUP BY _source, month
)`;
