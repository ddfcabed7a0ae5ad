import { freshness } from '../freshness.ts';
import type { BulkIssue, RunSummary, SourceHealth } from '../queries/pipeline.ts';
import { chart } from './chart.ts';
import { count, duration, time } from './format.ts';
import { type Html, html } from './html.ts';
import { badge } from './layout.ts';

export interface PipelineView {
  sources: SourceHealth[];
  /** Configured sources (name -> cron), including those that never ran. */
  schedules: Map<string, string | undefined>;
  runs: RunSummary[];
  needingLogin: Array<{ source: string; member_id: string | null }>;
  bulkIssues: BulkIssue[];
}

/** The operator's page: which source is late, failing, rejecting or waiting for a login. */
export function pipelinePage(view: PipelineView): Html {
  const chronological = [...view.runs].reverse();
  const labels = chronological.map((r) => `#${r.id} ${r.source}`);
  return html`<h1>Pipeline</h1>
    <section id="sources">
      <h2>Sources</h2>
      ${sourcesTable(view)}
    </section>
    <section id="logins">
      <h2>Members who need to log in again</h2>
      ${
        view.needingLogin.length === 0
          ? html`<p class="empty">None: every member login refreshes.</p>`
          : html`<table>
              <thead>
                <tr>
                  <th>Source</th>
                  <th>Member id</th>
                  <th>Command to run</th>
                </tr>
              </thead>
              <tbody>
                ${view.needingLogin.map(
                  (m) =>
                    html`<tr>
                      <td>${m.source}</td>
                      <td>${m.member_id ?? 'unknown'}</td>
                      <td><code>${loginCommand(m.source, m.member_id)}</code></td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
    </section>
    <section id="charts" class="charts">
      ${chart({
        id: 'resources-per-run',
        title: 'Resources loaded per run',
        kind: 'bar',
        labels,
        series: [{ label: 'resources', values: chronological.map((r) => Number(r.resources)) }],
      })}
      ${chart({
        id: 'run-duration',
        title: 'Run duration (seconds)',
        kind: 'line',
        labels,
        series: [
          {
            label: 'seconds',
            values: chronological.map((r) => (r.seconds === null ? null : Number(r.seconds.toFixed(2)))),
          },
        ],
      })}
    </section>
    <section id="runs">
      <h2>Recent runs</h2>
      <table>
        <thead>
          <tr>
            <th>Run</th>
            <th>Source</th>
            <th>Command</th>
            <th>Trigger</th>
            <th>Status</th>
            <th>Started</th>
            <th class="num">Duration</th>
            <th class="num">Files</th>
            <th class="num">Resources</th>
            <th class="num">Rejects</th>
            <th class="num">Value errors</th>
          </tr>
        </thead>
        <tbody>
          ${view.runs.map(
            (r) =>
              html`<tr>
                <td><a href="/runs/${r.id}">#${r.id}</a></td>
                <td>${r.source}</td>
                <td>${r.command}</td>
                <td>${r.trigger}</td>
                <td>${badge(r.status)}</td>
                <td>${time(r.started_at)}</td>
                <td class="num">${duration(r.seconds)}</td>
                <td class="num">${count(r.files)}</td>
                <td class="num">${count(r.resources)}</td>
                <td class="num">${count(r.rejects)}</td>
                <td class="num">${count(r.value_errors)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </section>
    <section id="bulk-issues">
      <h2>Bulk Data error-file issues</h2>
      ${
        view.bulkIssues.length === 0
          ? html`<p class="empty">No OperationOutcome issues in any export's error files.</p>`
          : html`<table>
              <thead>
                <tr>
                  <th>Source</th>
                  <th>Export</th>
                  <th>Type</th>
                  <th>Severity</th>
                  <th>Code</th>
                  <th>Diagnostics</th>
                  <th>Recorded</th>
                </tr>
              </thead>
              <tbody>
                ${view.bulkIssues.map(
                  (e) =>
                    html`<tr>
                      <td>${e.source}</td>
                      <td>${e.export_id}</td>
                      <td>${e.resource_type}</td>
                      <td>${e.severity}</td>
                      <td>${e.code}</td>
                      <td>${e.diagnostics}</td>
                      <td>${time(e.recorded_at)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
      }
    </section>`;
}

function sourcesTable(view: PipelineView): Html {
  const ran = new Map(view.sources.map((s) => [s.source, s]));
  const names = [...new Set([...view.schedules.keys(), ...ran.keys()])].sort();
  if (names.length === 0)
    return html`<p class="empty">
      No source has run yet: <code>fhir-etl run</code> or <code>fhir-etl demo</code>.
    </p>`;
  return html`<table class="sources">
    <thead>
      <tr>
        <th>Source</th>
        <th>Schedule</th>
        <th>Last run</th>
        <th>Status</th>
        <th>Last success</th>
        <th>Freshness</th>
        <th class="num">Rows loaded</th>
        <th class="num">Rejects</th>
        <th class="num">Value errors</th>
        <th class="num">Bulk issues</th>
      </tr>
    </thead>
    <tbody>
      ${names.map((name) => {
        const s = ran.get(name);
        const schedule = view.schedules.get(name);
        if (!s)
          return html`<tr>
            <td>${name}</td>
            <td>${schedule ?? 'by hand'}</td>
            <td colspan="8">never ran</td>
          </tr>`;
        const state = freshness(schedule, s.since_success_seconds);
        return html`<tr>
          <td>${name}</td>
          <td>${schedule ?? 'by hand'}</td>
          <td><a href="/runs/${s.last_run_id}">#${s.last_run_id}</a> ${time(s.last_started_at)}</td>
          <td>
            ${badge(s.running ? 'running' : s.last_status)}${s.last_error ? html`<div class="error">${firstLine(s.last_error)}</div>` : ''}
          </td>
          <td>${time(s.last_success_at)}</td>
          <td>
            ${badge(state)}
            ${s.since_success_seconds === null ? '' : `${duration(s.since_success_seconds)} ago`}
          </td>
          <td class="num">${count(s.last_resources)}</td>
          <td class="num">${count(s.last_rejects)}</td>
          <td class="num">${count(s.last_value_errors)}</td>
          <td class="num">${count(s.bulk_issues)}</td>
        </tr>`;
      })}
    </tbody>
  </table>`;
}

function loginCommand(source: string, memberId: string | null): string {
  return `fhir-etl auth login ${shellWord(source)}${memberId ? ` --login-hint ${shellWord(memberId)}` : ''}`;
}

/** A word as a POSIX shell reads it: bare when safe, else single-quoted. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function firstLine(text: string): string {
  return text.split('\n')[0]?.slice(0, 200) ?? '';
}
