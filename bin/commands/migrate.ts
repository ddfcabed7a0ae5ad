import type { Command } from 'commander';
import { withWarehouse } from '../global-options.ts';

export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply pending migrations to the control schema (runs also do this first)')
    .action(async (_options, command: Command) => {
      await withWarehouse(
        command,
        async (warehouse) => {
          const { migrate } = await import('../../loaders/index.ts');
          const applied = await migrate(warehouse.db);
          process.stdout.write(
            applied.length > 0
              ? `applied migrations ${applied.join(', ')}\n`
              : `${warehouse.displayUrl}: schema is current\n`,
          );
        },
        { migrate: false },
      );
    });
}
