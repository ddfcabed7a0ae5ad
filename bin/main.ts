import { Command, CommanderError, Option } from 'commander';
import { FhirEtlError } from '../errors/index.ts';
import { packageVersion } from '../shipped/index.ts';
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
import { registerUiCommand } from './commands/ui.ts';
import { registerViewCommand } from './commands/view.ts';
import { EXIT, exitCodeOf } from './exit-codes.ts';

/**
 * Parses the command line and runs one command; returns the process exit code. Every command
 * is declared here, cheaply; what it does is imported only when it runs (`--help` loads no
 * driver, no sandbox, no FHIRPath engine).
 */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('fhir-etl')
    .description('Load payer FHIR data into a PostgreSQL analytics warehouse.')
    .version(packageVersion, '-V, --version', 'print the version of fhir-etl')
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
  registerUiCommand(program);
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

/**
 * The one exit-code rule (README): 0 ok; 1 a run failed on its data or a server; 2 the command
 * line, config, a ViewDefinition or an input is wrong (found before anything loaded); 3 skipped
 * (another process is running the source). Errors a user can meet print their message and code;
 * anything else is a bug in fhir-etl, and only then comes a stack trace.
 */
export function reportFailure(error: unknown): number {
  if (error instanceof CommanderError) {
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (error instanceof FhirEtlError) {
    process.stderr.write(`fhir-etl: ${error.message} [${error.code}]\n`);
    return exitCodeOf(error);
  }
  process.stderr.write(
    `fhir-etl: unexpected error: this is a bug in fhir-etl. Please report it, with the command you ran ` +
      `and the lines below:\n${(error as Error)?.stack ?? String(error)}\n`,
  );
  return EXIT.failed;
}
