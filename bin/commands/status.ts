import type { Command } from 'commander';
import type { WarehouseStatus } from '../../pipeline/status.ts';
import { globalOptions, loadConfiguration, withWarehouse } from '../global-options.ts';
import { renderTable } from '../table.ts';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description(
      'freshness per source, recent runs, committed files, checkpoints, table sizes, logins needed',
    )
    .option('--json', 'print machine-readable JSON')
    .action(async (options: { json?: boolean }, command: Command) => {
      // The config adds the sources that never ran and their schedules; status works without one.
      const config = await loadConfiguration(command);
      await withWarehouse(command, async (warehouse) => {
        const { readStatus } = await import('../../pipeline/status.ts');
        const status = await readStatus(warehouse.db, {
          sources: config.sources,
          viewSchema: config.warehouse.schema,
        });
        const json = options.json || globalOptions(command).json;
        process.stdout.write(
          json ? `${JSON.stringify(status, null, 2)}\n` : `${describeStatus(status, warehouse.displayUrl)}\n`,
        );
      });
    });
}

const time = (d: Date | null) => (d ? d.toISOString().replace('T', ' ').slice(0, 19) : '');

function describeStatus(status: WarehouseStatus, url: string): string {
  const out = [`warehouse: ${url}`];
  if (status.freshness.length > 0) out.push('', 'sources', describeFreshness(status));
  out.push('', 'recent runs', describeRuns(status));
  const failed = status.runs.find((r) => r.status === 'failed');
  if (failed?.error) out.push(`last failure (run ${failed.id}): ${failed.error.split('\n')[0]}`);
  out.push('', 'committed files per source');
  out.push(
    renderTable(
      ['source', 'files', 'resources', 'last commit'],
      status.sources.map((s) => [s.source, s.files, s.resources, time(s.last_commit)]),
    ),
  );
  if (status.checkpoints.length > 0) {
    out.push('', 'checkpoints');
    out.push(
      renderTable(
        ['source', 'scope', 'value', 'updated'],
        status.checkpoints.map((c) => [c.source, c.scope, c.value, time(c.updated_at)]),
      ),
    );
  }
  out.push(...describeBulk(status), ...describeExchanges(status), ...describeMembers(status));
  out.push('', 'tables');
  out.push(
    renderTable(
      ['table', 'rows', 'size'],
      status.tables.map((t) => [t.table, t.rows, megabytes(t.bytes)]),
    ),
  );
  if (status.rejects > 0)
    out.push('', `${status.rejects} rejected lines in all: \`fhir-etl rejects\` lists them`);
  if (status.valueErrors > 0) {
    out.push(
      '',
      `${status.valueErrors} values did not fit their view column and are NULL there: \`fhir-etl rejects --values\` lists them`,
    );
  }
  return out.join('\n');
}

function describeFreshness(status: WarehouseStatus): string {
  return renderTable(
    ['source', 'schedule', 'last run', 'status', 'last success', 'since success'],
    status.freshness.map((f) => [
      f.source,
      f.schedule ?? '',
      f.last_run ? `${f.last_run.id} (${f.last_run.trigger})` : 'never',
      f.running ? 'running' : (f.last_run?.status ?? ''),
      time(f.last_success_at),
      f.freshness_seconds === null ? 'never' : duration(f.freshness_seconds),
    ]),
  );
}

function describeRuns(status: WarehouseStatus): string {
  return renderTable(
    [
      'run',
      'command',
      'source',
      'trigger',
      'status',
      'started',
      'seconds',
      'files',
      'skipped',
      'resources',
      'res/s',
      'rejects',
    ],
    status.runs.map((r) => [
      r.id,
      r.command,
      r.source,
      r.trigger,
      r.status,
      time(r.started_at),
      r.ended_at ? Number(((r.ended_at.getTime() - r.started_at.getTime()) / 1000).toFixed(1)) : null,
      r.files,
      r.files_skipped,
      r.resources,
      r.resources_per_second,
      r.rejects,
    ]),
  );
}

function describeBulk(status: WarehouseStatus): string[] {
  const out: string[] = [];
  if (status.bulk && status.bulk.in_progress.length > 0) {
    out.push('', 'bulk exports in progress');
    out.push(
      renderTable(
        ['source', 'state', 'started', 'transactionTime', 'last error'],
        status.bulk.in_progress.map((e) => [
          e.source,
          e.state,
          time(e.started_at),
          e.transaction_time,
          e.error,
        ]),
      ),
    );
  }
  if (status.bulk && status.bulk.recent_errors.length > 0) {
    out.push('', 'recent bulk error-file issues');
    out.push(
      renderTable(
        ['source', 'export', 'type', 'severity', 'code', 'diagnostics'],
        status.bulk.recent_errors.map((e) => [
          e.source,
          e.export_id,
          e.resource_type,
          e.severity,
          e.code,
          e.diagnostics?.slice(0, 80),
        ]),
      ),
    );
  }
  return out;
}

function describeExchanges(status: WarehouseStatus): string[] {
  if (!status.exchanges || status.exchanges.length === 0) return [];
  return [
    '',
    'payer exchanges (Payer-to-Payer)',
    renderTable(
      [
        'source',
        'mode',
        'submitted',
        'matched',
        'not matched',
        'consent-constrained',
        'pulls stopped',
        'last pull',
        'next re-match',
      ],
      status.exchanges.map((e) => [
        e.source,
        e.mode,
        e.submitted,
        e.matched,
        e.not_matched,
        e.consent_constrained,
        e.pulls_stopped,
        e.last_pull_at ? `${time(e.last_pull_at)} (${e.last_pull_kind})` : 'never',
        e.next_rematch_at ? time(e.next_rematch_at) : '',
      ]),
    ),
  ];
}

function describeMembers(status: WarehouseStatus): string[] {
  if (!status.members || status.members.needing_login.length === 0) return [];
  return [
    '',
    'members who must log in again (`fhir-etl auth login SOURCE`)',
    renderTable(
      ['source', 'member', 'patient', 'why'],
      status.members.needing_login.map((m) => [m.source, m.member_label, m.patient_id, m.login_error]),
    ),
  ];
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** 93784 -> "1d 2h 3m" */
function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const parts = [
    [Math.floor(s / 86400), 'd'],
    [Math.floor((s % 86400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
  ] as const;
  return parts
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n}${unit}`)
    .join(' ');
}
