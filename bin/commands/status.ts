import type { Command } from 'commander';
import { readStatus, type WarehouseStatus } from '../../pipeline/status.ts';
import { withWarehouse } from '../global-options.ts';
import { renderTable } from '../table.ts';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('recent runs, what each source committed, checkpoints and table sizes')
    .option('--json', 'print machine-readable JSON')
    .action(async (options, command: Command) => {
      await withWarehouse(command, async (warehouse) => {
        const status = await readStatus(warehouse.db);
        const json = options.json || command.optsWithGlobals().json;
        process.stdout.write(
          json ? `${JSON.stringify(status, null, 2)}\n` : `${describeStatus(status, warehouse.displayUrl)}\n`,
        );
      });
    });
}

function describeStatus(status: WarehouseStatus, url: string): string {
  const time = (d: Date | null) => (d ? d.toISOString().replace('T', ' ').slice(0, 19) : '');
  const out = [`warehouse: ${url}`, '', 'recent runs'];
  out.push(
    renderTable(
      [
        'run',
        'command',
        'source',
        'status',
        'started',
        'seconds',
        'files',
        'skipped',
        'resources',
        'rejects',
      ],
      status.runs.map((r) => [
        r.id,
        r.command,
        r.source,
        r.status,
        time(r.started_at),
        r.ended_at ? Number(((r.ended_at.getTime() - r.started_at.getTime()) / 1000).toFixed(1)) : null,
        r.files,
        r.files_skipped,
        r.resources,
        r.rejects,
      ]),
    ),
  );
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
  out.push('', 'tables');
  out.push(
    renderTable(
      ['table', 'rows'],
      status.tables.map((t) => [t.table, t.rows]),
    ),
  );
  if (status.rejects > 0)
    out.push('', `${status.rejects} rejected lines in all: \`fhir-etl rejects\` lists them`);
  return out.join('\n');
}
