import type { ConnectionPool } from '@databases/pg';
import { type Command, Option } from 'commander';
import type { LoadedConfig } from '../../config/index.ts';
import type { Warehouse } from '../../loaders/index.ts';
import type { Logger } from '../../pipeline/logger.ts';
import type { RunningConsole } from '../../ui/index.ts';
import { globalOptions, loadConfiguration, withWarehouse } from '../global-options.ts';
import { port } from '../option-parsers.ts';

export const CONSOLE_DEFAULTS = { host: '127.0.0.1', port: 8977 } as const;

export function registerUiCommand(program: Command): void {
  program
    .command('ui')
    .description(
      'the read-only web console: pipeline health, member records (rendered and raw FHIR), analytics',
    )
    .addOption(
      new Option('--port <port>', 'port to listen on')
        .default(CONSOLE_DEFAULTS.port)
        .argParser(port('--port')),
    )
    .option(
      '--host <host>',
      'address to bind; beyond loopback needs FHIR_ETL_UI_TOKEN or FHIR_ETL_UI_USER/FHIR_ETL_UI_PASSWORD',
      CONSOLE_DEFAULTS.host,
    )
    .action(async (options: { port: number; host: string }, command: Command) => {
      // Refused (exit 2) before the warehouse is even opened.
      const { consoleAuthFromEnv, requireAuthBeyondLoopback } = await import('../../ui/index.ts');
      requireAuthBeyondLoopback(options.host, consoleAuthFromEnv());
      const config = await loadConfiguration(command);
      await withWarehouse(command, async (warehouse, logger) => {
        const ui = await serveConsole(warehouse, config, {
          ...options,
          logger,
          databaseUrl: globalOptions(command).databaseUrl,
        });
        process.stdout.write(`console: ${ui.url} (reading as ${ui.role}); Ctrl-C stops it\n`);
        await untilStopped();
        await ui.close();
      });
    });
}

/**
 * Starts the console beside an open warehouse (`fhir-etl ui`, `fhir-etl schedule --ui`): as the
 * loader, lets the read-only role read fhir_raw (the raw FHIR views) and record member views;
 * then serves through that role alone.
 */
export async function serveConsole(
  warehouse: Warehouse,
  config: LoadedConfig,
  options: { host: string; port: number; logger: Logger; databaseUrl?: string },
): Promise<RunningConsole> {
  // The console (fastify and its pages) loads only for the commands that serve it.
  const [
    { default: pgModule },
    { ensureReadAccess, readOnlyUrl, viewSchemasOf },
    { grantConsoleAudit, roleOfUrl },
    { consoleAuthFromEnv, requireAuthBeyondLoopback, startConsole },
  ] = await Promise.all([
    import('@databases/pg'),
    import('../../loaders/index.ts'),
    import('../../ui/console-access.ts'),
    import('../../ui/index.ts'),
  ]);
  const auth = consoleAuthFromEnv();
  requireAuthBeyondLoopback(options.host, auth);
  const readerUrl = await readOnlyUrl({
    databaseUrl: options.databaseUrl || config.warehouse.url || undefined,
    readerUrl: config.warehouse.readerUrl,
  });
  const role = roleOfUrl(readerUrl);
  await ensureReadAccess(
    warehouse.db,
    { role, raw: true },
    await viewSchemasOf(warehouse.db, config.warehouse.schema),
  );
  await grantConsoleAudit(warehouse.db, role);
  const reader: ConnectionPool = pgModule.default({
    connectionString: readerUrl,
    bigIntMode: 'number',
    poolSize: 4,
    onError: () => undefined,
  });
  try {
    const ui = await startConsole({
      db: reader,
      host: options.host,
      port: options.port,
      viewSchema: config.warehouse.schema,
      auth,
      schedules: new Map(config.sources.map((s) => [s.name, s.schedule])),
      logger: options.logger,
    });
    return {
      ...ui,
      async close() {
        await ui.close();
        await reader.dispose();
      },
    };
  } catch (error) {
    await reader.dispose();
    throw error;
  }
}

/** Resolves on SIGINT or SIGTERM. */
function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
