import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '../config/index.ts';
import { FhirEtlError } from '../errors/index.ts';
import { UnknownSourceError } from '../pipeline/run.ts';
import { registerAuthCommand } from './commands/auth.ts';
import { registerDbCommands } from './commands/db.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerLoadCommand } from './commands/load.ts';
import { registerMigrateCommand } from './commands/migrate.ts';
import { registerRebuildCommand } from './commands/rebuild.ts';
import { registerRejectsCommand } from './commands/rejects.ts';
import { registerSandboxCommand } from './commands/sandbox.ts';
import { registerRunCommand } from './commands/run.ts';
import { registerSendCommand } from './commands/send.ts';
import { registerScheduleCommand } from './commands/schedule.ts';
import { registerStatusCommand } from './commands/status.ts';
import { registerViewCommand } from './commands/view.ts';
import { EXIT, UsageError } from './exit-codes.ts';

/** Parses the command line and runs one command; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('fhir-etl')
    .description('Load payer FHIR data into a PostgreSQL analytics warehouse.')
    .addOption(
      new Option(
        '--database-url <url>',
        'PostgreSQL to load into (default: $DATABASE_URL, else the embedded server)',
      ).env('DATABASE_URL'),
    )
    .option('--config <file>', 'the config file (default: fhir-etl.config.yaml when present)')
    .option('--json', 'log JSON lines instead of a progress bar', false)
    .showHelpAfterError()
    .exitOverride();
  registerDemoCommand(program);
  registerRunCommand(program);
  registerAuthCommand(program);
  registerSendCommand(program);
  registerScheduleCommand(program);
  registerLoadCommand(program);
  registerRebuildCommand(program);
  registerStatusCommand(program);
  registerRejectsCommand(program);
  registerMigrateCommand(program);
  registerDbCommands(program);
  registerViewCommand(program);
  registerSandboxCommand(program);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    return reportFailure(error);
  }
}

function reportFailure(error: unknown): number {
  if (error instanceof CommanderError) {
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (error instanceof UsageError || error instanceof ConfigError || error instanceof UnknownSourceError) {
    process.stderr.write(`fhir-etl: ${error.message}\n`);
    return EXIT.usage;
  }
  if (error instanceof FhirEtlError) {
    process.stderr.write(`fhir-etl: ${error.message} [${error.code}]\n`);
    return EXIT.failed;
  }
  process.stderr.write(`fhir-etl: unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
  return EXIT.failed;
}
