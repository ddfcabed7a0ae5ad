import { type Html, html, jsonData } from './html.ts';

export interface ChartSpec {
  id: string;
  title: string;
  kind: 'bar' | 'line';
  /** Bars along the y axis (long labels, e.g. diagnoses). */
  horizontal?: boolean;
  labels: string[];
  series: Array<{
    label: string;
    values: Array<number | null>;
    axis?: 'left' | 'right';
    kind?: 'bar' | 'line';
  }>;
  /** The SQL the data came from, shown one click away. */
  sql?: string;
  /** Shown under the chart, and for readers without JavaScript: the same data as a table. */
  note?: string;
}

/**
 * A chart: a canvas the chart script (assets/charts.js) draws from a JSON data block, and
 * the same numbers in a table inside <details> for readers without JavaScript.
 */
export function chart(spec: ChartSpec): Html {
  return html`<figure class="chart-card">
    <figcaption>${spec.title}</figcaption>
    <div class="chart"><canvas data-chart="${spec.id}" aria-label="${spec.title}" role="img"></canvas></div>
    ${jsonData(spec.id, { kind: spec.kind, horizontal: spec.horizontal ?? false, labels: spec.labels, series: spec.series })}
    ${spec.note ? html`<p class="note">${spec.note}</p>` : ''}
    <details class="data">
      <summary>Data</summary>
      <table>
        <thead>
          <tr>
            <th></th>
            ${spec.series.map((s) => html`<th class="num">${s.label}</th>`)}
          </tr>
        </thead>
        <tbody>
          ${spec.labels.map(
            (label, i) =>
              html`<tr>
                <td>${label}</td>
                ${spec.series.map((s) => html`<td class="num">${s.values[i] ?? ''}</td>`)}
              </tr>`,
          )}
        </tbody>
      </table>
    </details>
    ${
      spec.sql
        ? html`<details class="sql">
            <summary>SQL</summary>
            <pre><code>${spec.sql}</code></pre>
          </details>`
        : ''
    }
  </figure>`;
}
