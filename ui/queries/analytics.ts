import { type ConnectionPool, sql } from '@databases/pg';

/** One analytics figure: its SQL (shown beside the chart) and the rows it returned. */
export interface AnalyticsFigure {
  key: string;
  title: string;
  sql: string;
  rows: Array<Record<string, unknown>>;
}

export interface AnalyticsCharts {
  /** False until the analytics marts exist in the warehouse. */
  installed: boolean;
  figures: AnalyticsFigure[];
}

/** The marts' queries (analytics.*): each figure's SQL is exactly what runs. */
export const ANALYTICS_SQL: Array<Omit<AnalyticsFigure, 'rows'>> = [];

export async function analyticsCharts(db: ConnectionPool): Promise<AnalyticsCharts> {
  const [present] = await db.query(sql`SELECT to_regnamespace('analytics') IS NOT NULL AS yes`);
  if (!present?.yes) return { installed: false, figures: [] };
  const figures: AnalyticsFigure[] = [];
  for (const figure of ANALYTICS_SQL) {
    figures.push({ ...figure, rows: await db.query(sql.__dangerous__rawValue(figure.sql)) });
  }
  return { installed: true, figures };
}
