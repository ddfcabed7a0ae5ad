import type { AnalyticsCharts } from '../queries/analytics.ts';
import { type Html, html } from './html.ts';

export function analyticsPage(charts: AnalyticsCharts): Html {
  if (!charts.installed) {
    return html`<h1>Analytics</h1>
      <p class="empty">
        The analytics marts (schema <code>analytics</code>) are not in this warehouse yet: run
        <code>fhir-etl migrate</code>.
      </p>`;
  }
  return html`<h1>Analytics</h1>`;
}
