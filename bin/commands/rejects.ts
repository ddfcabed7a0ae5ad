import { type Command, Option } from 'commander';
import type { listRejects } from '../../pipeline/status.ts';
import type { listValueErrors } from '../../pipeline/value-errors.ts';
import { globalOptions, withWarehouse } from '../global-options.ts';
import { positiveInt } from '../option-parsers.ts';
import { renderTable } from '../table.ts';

export function registerRejectsCommand(program: Command): void {
  program
    .command('rejects')
    .description(
      'list rejected lines with their file, line number and reason; --values: values written NULL because their view column could not hold them',
    )
    .addOption(new Option('--run <id>', 'only this run').argParser(positiveInt('--run')))
    .addOption(new Option('--limit <n>', 'at most this many').default(50).argParser(positiveInt('--limit')))
    .option('--values', 'list the values written NULL (fhir_etl.value_errors) instead of the rejected lines')
    .option('--json', 'one JSON object per line, with the raw text')
    .action(
      async (
        options: { run?: number; limit: number; values?: boolean; json?: boolean },
        command: Command,
      ) => {
        await withWarehouse(command, async (warehouse) => {
          const { listRejects } = await import('../../pipeline/status.ts');
          const { listValueErrors } = await import('../../pipeline/value-errors.ts');
          const json = options.json || globalOptions(command).json;
          const filter = { runId: options.run, limit: options.limit };
          const rows = options.values
            ? await listValueErrors(warehouse.db, filter)
            : await listRejects(warehouse.db, filter);
          if (json) {
            for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
            return;
          }
          process.stdout.write(
            `${options.values ? valueErrorTable(rows as ValueRows) : rejectTable(rows as RejectRows)}\n`,
          );
        });
      },
    );
}

type RejectRows = Awaited<ReturnType<typeof listRejects>>;
type ValueRows = Awaited<ReturnType<typeof listValueErrors>>;

function rejectTable(rows: RejectRows): string {
  return renderTable(
    ['run', 'file', 'line', 'type', 'id', 'reason'],
    rows.map((r) => [r.run_id, r.file, r.line, r.resource_type, r.resource_id, r.reason.slice(0, 100)]),
  );
}

function valueErrorTable(rows: ValueRows): string {
  return renderTable(
    ['run', 'file', 'line', 'type', 'id', 'view', 'column', 'value', 'reason'],
    rows.map((r) => [
      r.run_id,
      r.file,
      r.line,
      r.resource_type,
      r.resource_id,
      r.view_name,
      r.column_name,
      r.value.slice(0, 40),
      r.reason.slice(0, 80),
    ]),
  );
}
