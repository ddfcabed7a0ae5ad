import type { AnalyticsFigure } from '../queries/analytics.ts';
import { chart } from './chart.ts';
import { type Html, html } from './html.ts';
import { shownValue } from '../../errors/shown-value.ts';

/** The headline figures, each a chart with its data and its SQL one click away. */
export function analyticsPage(figures: AnalyticsFigure[]): Html {
  const byKey = new Map(figures.map((f) => [f.key, f]));
  const figure = (key: AnalyticsFigure['key']) => byKey.get(key)!;
  const claims = figure('claims-per-month');
  const diagnoses = figure('top-diagnoses');
  const pmpm = figure('pmpm');
  const utilization = figure('utilization');
  const column = (f: AnalyticsFigure, name: string) =>
    f.rows.map((r) => (r[name] === null ? null : Number(r[name])));
  const labels = (f: AnalyticsFigure, name: string) => f.rows.map((r) => shownValue(r[name] ?? ''));
  return html`<h1>Analytics</h1>
    <section class="charts" id="analytics">
      ${chart({
        id: 'claims-per-month',
        title: claims.title,
        kind: 'bar',
        labels: labels(claims, 'month'),
        series: [
          { label: 'paid', values: column(claims, 'paid') },
          { label: 'claims', values: column(claims, 'claims'), axis: 'right', kind: 'line' },
        ],
        sql: claims.sql,
      })}
      ${chart({
        id: 'top-diagnoses',
        title: diagnoses.title,
        kind: 'bar',
        horizontal: true,
        labels: diagnoses.rows.map((r) =>
          shorten(`${shownValue(r.diagnosis ?? r.code)} (${shownValue(r.code)})`, 44),
        ),
        series: [{ label: 'claims', values: column(diagnoses, 'claims') }],
        sql: diagnoses.sql,
      })}
      ${chart({
        id: 'pmpm',
        title: pmpm.title,
        kind: 'line',
        labels: labels(pmpm, 'month'),
        series: [
          { label: 'PMPM', values: column(pmpm, 'pmpm') },
          { label: 'member-months', values: column(pmpm, 'member_months'), axis: 'right' },
        ],
        sql: pmpm.sql,
      })}
      ${chart({
        id: 'utilization',
        title: utilization.title,
        kind: 'bar',
        labels: ['Inpatient admissions', 'Emergency visits', 'Office visits'],
        series: [
          {
            label: 'per 1,000 member-months',
            values: ['inpatient_admissions', 'emergency_visits', 'office_visits'].map((name) =>
              utilization.rows[0]?.[name] === null || utilization.rows[0]?.[name] === undefined
                ? null
                : Number(utilization.rows[0][name]),
            ),
          },
        ],
        note: `${shownValue(utilization.rows[0]?.member_months ?? 0)} member-months`,
        sql: utilization.sql,
      })}
    </section>`;
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
