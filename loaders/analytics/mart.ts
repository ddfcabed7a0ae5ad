/**
 * An analytics mart: a plain SQL view in schema `analytics` over the view tables, for BI tools
 * and analysts. Every mart keeps `_source` and joins on it, so two sources holding the same
 * members never multiply each other's rows. Its description and every column's become
 * COMMENT ON VIEW / COLUMN, which BI tools show.
 */
export interface Mart {
  name: string;
  description: string;
  /** The view tables it reads (in the view schema); the mart is made once they all exist. */
  reads: string[];
  /** The marts it reads (made before it). */
  uses?: string[];
  /** Column name -> meaning, in the order the SELECT gives them. */
  columns: Record<string, string>;
  /** The SELECT, over the view schema `s` (a quoted identifier) and the other marts. */
  select(s: string): string;
}

/** The schema the marts live in. */
export const ANALYTICS_SCHEMA = 'analytics';

/** `date` values to the first day of their month, without passing through a time zone. */
export function monthOf(expression: string): string {
  return `date_trunc('month', (${expression})::timestamp)::date`;
}
