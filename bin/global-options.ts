import type { Command } from 'commander';
import { loadConfig } from '../config/index.ts';
import { openWarehouse, type Warehouse } from '../loaders/index.ts';
import { createLogger, type Logger } from '../pipeline/logger.ts';

export interface GlobalOptions {
  databaseUrl?: string;
  /** The config file (`--config`); undefined reads fhir-etl.config.yaml when it exists. */
  config?: string;
  json: boolean;
}

export function globalOptions(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}

/**
 * The views folders and view schema the config file names (when there is one), after those
 * given on the command line: `--views` adds to the config's folders, `--schema` overrides it.
 */
export async function configuredViewOptions(
  command: Command,
  options: { views?: string[] | false; schema?: string },
): Promise<{ viewDirs: string[] | false; schema: string }> {
  const config = await loadConfig(globalOptions(command).config);
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
    /** false: only an explicit --database-url counts, not $DATABASE_URL (the demo's own warehouse). */
    databaseUrlFromEnv?: boolean;
  } = {},
) {
  const { json } = globalOptions(command);
  const databaseUrl =
    options.databaseUrlFromEnv === false && command.getOptionValueSourceWithGlobals('databaseUrl') !== 'cli'
      ? undefined
      : globalOptions(command).databaseUrl;
  const logger = createLogger({ json });
  // --database-url and $DATABASE_URL win over the config file's warehouse.url.
  const warehouse = await openWarehouse({
    databaseUrl: databaseUrl || options.databaseUrl || undefined,
    migrate: options.migrate ?? true,
    ...(options.poolSize === undefined ? {} : { poolSize: options.poolSize }),
  });
  try {
    return await fn(warehouse, logger);
  } finally {
    await warehouse.close();
  }
}
