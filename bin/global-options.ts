import type { Command } from 'commander';
import type { LoadedConfig } from '../config/index.ts';
import { FhirEtlError } from '../errors/index.ts';
import type { Warehouse } from '../loaders/index.ts';
import type { Logger } from '../pipeline/logger.ts';

export interface GlobalOptions {
  databaseUrl?: string;
  /** The config file (`--config`); undefined reads fhir-etl.config.yaml when it exists. */
  config?: string;
  json: boolean;
}

export function globalOptions(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

/**
 * The config file the global options name. Imported here, when a command runs, not when the
 * CLI starts: `--help` and `--version` never load the config's schema (commands are lazy).
 */
export async function loadConfiguration(command: Command): Promise<LoadedConfig> {
  const { loadConfig } = await import('../config/index.ts');
  return loadConfig(globalOptions(command).config);
}

/**
 * The views folders and view schema the config file names (when there is one), after those
 * given on the command line: `--views` adds to the config's folders, `--schema` overrides it.
 */
export async function configuredViewOptions(
  command: Command,
  options: { views?: string[] | false; schema?: string },
): Promise<{ viewDirs: string[] | false; schema: string }> {
  const config = await loadConfiguration(command);
  return {
    viewDirs:
      options.views === false
        ? false
        : [...config.views, ...(Array.isArray(options.views) ? options.views : [])],
    schema: options.schema ?? config.warehouse.schema,
  };
}

/** Opens the warehouse the global options name, runs `fn`, and always lets it go. */
export async function withWarehouse<T>(
  command: Command,
  fn: (warehouse: Warehouse, logger: Logger) => Promise<T>,
  options: {
    migrate?: boolean;
    databaseUrl?: string;
    poolSize?: number;
    /**
     * Only an explicit --database-url counts: not $DATABASE_URL, not the config's warehouse.url
     * (the demo, whose synthetic members must never land in a real warehouse).
     */
    explicitDatabaseUrlOnly?: boolean;
  } = {},
) {
  const { json } = globalOptions(command);
  const [{ openWarehouse }, { createLogger }] = await Promise.all([
    import('../loaders/index.ts'),
    import('../pipeline/logger.ts'),
  ]);
  const logger = createLogger({ json });
  const warehouse = await openWarehouse({
    databaseUrl: await warehouseUrl(command, options),
    migrate: options.migrate ?? true,
    ...(options.poolSize === undefined ? {} : { poolSize: options.poolSize }),
  });
  try {
    return await fn(warehouse, logger);
  } catch (error) {
    throw await explainWarehouseFailure(warehouse, error);
  } finally {
    await warehouse.close();
  }
}

/**
 * An error no part of fhir-etl explained (a raw driver error) is, when the warehouse stopped
 * answering or filled its disk meanwhile, that: said in one line naming the server, not as a
 * bug with a stack trace.
 */
async function explainWarehouseFailure(warehouse: Warehouse, error: unknown): Promise<unknown> {
  if (error instanceof FhirEtlError) return error;
  const { WarehouseError, warehouseFault } = await import('../loaders/index.ts');
  const fault = await warehouseFault(warehouse.db, error);
  if (!fault) return error;
  const what = fault.kind === 'disk-full' ? 'ran out of disk space' : 'stopped answering';
  return new WarehouseError(
    `the warehouse ${warehouse.displayUrl} ${what} (${fault.reason})`,
    { url: warehouse.displayUrl },
    error,
  );
}

/**
 * Where a command loads: --database-url, else $DATABASE_URL, else the config file's
 * warehouse.url, else (undefined) the embedded server.
 */
async function warehouseUrl(
  command: Command,
  options: { databaseUrl?: string; explicitDatabaseUrlOnly?: boolean },
): Promise<string | undefined> {
  const { databaseUrl } = globalOptions(command);
  if (options.explicitDatabaseUrlOnly) {
    return command.getOptionValueSourceWithGlobals('databaseUrl') === 'cli' ? databaseUrl : undefined;
  }
  if (databaseUrl) return databaseUrl;
  if (options.databaseUrl) return options.databaseUrl;
  return (await loadConfiguration(command)).warehouse.url || undefined;
}
