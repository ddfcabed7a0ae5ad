import type { RunDetail } from '../queries/run.ts';
import { count, duration, time } from './format.ts';
import { type Html, html } from './html.ts';
import { badge } from './layout.ts';

/** A run's page: what it was, the files it committed with their counts, and its rejects. */
export function runPage({ run, files, rejects, valueErrors }: RunDetail): Html {
  const views = Object.entries(run.view_counts ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return html`<p class="crumbs"><a href="/">Pipeline</a> / run #${run.id}</p>
    <h1>Run #${run.id} <small>${run.source}</small> ${badge(run.status)}</h1>
    <dl class="facts">
      <dt>Command</dt>
      <dd>${run.command} (${run.trigger})</dd>
      <dt>Started</dt>
      <dd>${time(run.started_at)}</dd>
      <dt>Ended</dt>
      <dd>${time(run.ended_at)} ${run.seconds === null ? '' : `(${duration(run.seconds)})`}</dd>
      <dt>Files</dt>
      <dd>${count(run.files)} committed, ${count(run.files_skipped)} already loaded</dd>
      <dt>Resources</dt>
      <dd>${count(run.resources)} (${count(run.bytes)} bytes)</dd>
      <dt>Rejects</dt>
      <dd>${count(run.rejects)}</dd>
      <dt>Value errors</dt>
      <dd>${count(run.value_errors)} (written as NULL, kept in fhir_etl.value_errors)</dd>
      ${
        run.error
          ? html`<dt>Error</dt>
              <dd class="error">${run.error}</dd>`
          : ''
      }
    </dl>
    <section id="files">
      <h2>Files</h2>
      ${
        files.length === 0
          ? html`<p class="empty">No file committed by this run.</p>`
          : html`<table>
              <thead>
                <tr>
                  <th>File</th>
                  <th>Resource types</th>
                  <th class="num">Lines</th>
                  <th class="num">Resources</th>
                  <th class="num">Rejects</th>
                  <th>Committed</th>
                </tr>
              </thead>
              <tbody>
                ${files.map(
                  (f) =>
                    html`<tr>
                      <td>
                        <span class="key">${f.file_key}</span>
                        <div class="path">${f.path}</div>
                      </td>
                      <td>
                        ${Object.entries(f.counts ?? {}).map(([type, c]) => html`<span class="pill">${type} ${count(c.resources ?? 0)}</span> `)}
                      </td>
                      <td class="num">${count(f.lines)}</td>
                      <td class="num">${count(f.resources)}</td>
                      <td class="num">${count(f.rejects)}</td>
                      <td>${time(f.committed_at)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
    </section>
    ${
      views.length > 0
        ? html`<section id="view-rows">
            <h2>Rows written per view table</h2>
            <table>
              <thead>
                <tr>
                  <th>Table</th>
                  <th class="num">Rows</th>
                </tr>
              </thead>
              <tbody>
                ${views.map(
                  ([name, n]) =>
                    html`<tr>
                      <td>${name}</td>
                      <td class="num">${count(n)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </section>`
        : ''
    }
    <section id="rejects">
      <h2>Rejected lines</h2>
      ${
        rejects.length === 0
          ? html`<p class="empty">None.</p>`
          : html`<table>
                <thead>
                  <tr>
                    <th>File</th>
                    <th class="num">Line</th>
                    <th>Resource</th>
                    <th>Reason</th>
                  </tr>
                </thead>
                <tbody>
                  ${rejects.map(
                    (r) =>
                      html`<tr>
                        <td>${r.file}</td>
                        <td class="num">${r.line ?? ''}</td>
                        <td>${r.resource_type ?? ''}${r.resource_id ? `/${r.resource_id}` : ''}</td>
                        <td>${r.reason}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>
              <p class="note">
                The rejected text itself is not shown here:
                <code>fhir-etl rejects --run ${run.id}</code> prints it.
              </p>`
      }
    </section>
    <section id="value-errors">
      <h2>Value errors</h2>
      ${
        valueErrors.length === 0
          ? html`<p class="empty">None: every value fit its column.</p>`
          : html`<table>
                <thead>
                  <tr>
                    <th>File</th>
                    <th class="num">Line</th>
                    <th>Resource</th>
                    <th>View column</th>
                    <th>Reason</th>
                  </tr>
                </thead>
                <tbody>
                  ${valueErrors.map(
                    (e) =>
                      html`<tr>
                        <td>${e.file ?? ''}</td>
                        <td class="num">${e.line ?? ''}</td>
                        <td>${e.resource_type}/${e.resource_id}</td>
                        <td>${e.view_name}.${e.column_name}</td>
                        <td>${e.reason}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>
              <p class="note">The values themselves are not shown here (they are a member's data).</p>`
      }
    </section>`;
}
