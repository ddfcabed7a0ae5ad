import { type Command, Option } from 'commander';
import { withWarehouse } from '../global-options.ts';
import { positiveInt } from '../option-parsers.ts';
import { renderTable } from '../table.ts';

export function registerRejectsCommand(program: Command): void {
  program
    .command('rejects')
    .description('list rejected lines with their file, line number and reason')
    .addOption(new Option('--run <id>', 'only this run').argParser(positiveInt('--run')))
    .addOption(new Option('--limit <n>', 'at most this many').default(50).argParser(positiveInt('--limit')))
    .option('--json', 'one JSON object per line, with the raw text')
    .action(async (options, command: Command) => {
      await withWarehouse(command, async (warehouse) => {
        const { listRejects } = await import('../../pipeline/status.ts');
        const rows = await listRejects(warehouse.db, { runId: options.run, limit: options.limit });
        if (options.json || command.optsWithGlobals().json) {
          for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
          return;
        }
        process.stdout.write(
          `${renderTable(
            ['run', 'file', 'line', 'type', 'id', 'reason'],
            rows.map((r) => [
              r.run_id,
              r.file,
              r.line,
              r.resource_type,
              r.resource_id,
              r.reason.slice(0, 100),
            ]),
          )}\n`,
        );
      });
    });
}
