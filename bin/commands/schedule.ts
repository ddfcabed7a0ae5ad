import { type Command, Option } from 'commander';
import { globalOptions, loadConfiguration } from '../global-options.ts';
import { port } from '../option-parsers.ts';
import { CONSOLE_DEFAULTS, serveConsole } from './ui.ts';

export function registerScheduleCommand(program: Command): void {
  program
    .command('schedule')
    .description(
      'long-running: run each source on its cron schedule (one replica per fire); SIGTERM stops gracefully',
    )
    .option('--source <name...>', 'only these sources (default: every source with a schedule)')
    .addOption(
      new Option(
        '--metrics-port <port>',
        'serve Prometheus /metrics and /healthz on this port (0: any free port)',
      ).argParser(port('--metrics-port')),
    )
    .option(
      '--metrics-host <host>',
      'address the metrics endpoint binds to (default: scheduler.metricsHost, 127.0.0.1)',
    )
    .option('--replica <name>', 'this process in fhir_etl.schedule_fires (default: host:pid)')
    .option('--ui', 'also serve the read-only web console (as `fhir-etl ui`)', false)
    .addOption(
      new Option('--ui-port <port>', "the console's port")
        .default(CONSOLE_DEFAULTS.port)
        .argParser(port('--ui-port')),
    )
    .option(
      '--ui-host <host>',
      "the console's address (beyond loopback needs FHIR_ETL_UI_* auth)",
      CONSOLE_DEFAULTS.host,
    )
    .action(
      async (
        options: {
          source?: string[];
          metricsPort?: number;
          metricsHost?: string;
          replica?: string;
          ui: boolean;
          uiPort: number;
          uiHost: string;
        },
        command: Command,
      ) => {
        const { json, databaseUrl } = globalOptions(command);
        const config = await loadConfiguration(command);
        const [
          { openWarehouse },
          { poolSizeForSchedule },
          { createLogger },
          { serveMetrics },
          { runScheduler, scheduledSources, stopOnSignals },
        ] = await Promise.all([
          import('../../loaders/index.ts'),
          import('../../pipeline/connections.ts'),
          import('../../pipeline/logger.ts'),
          import('../../pipeline/metrics/index.ts'),
          import('../../pipeline/scheduler/index.ts'),
        ]);
        // A wrong schedule is refused (exit 2) before the warehouse is even opened.
        const sources = scheduledSources(config, options.source);
        if (options.ui) {
          const { consoleAuthFromEnv, requireAuthBeyondLoopback } = await import('../../ui/index.ts');
          requireAuthBeyondLoopback(options.uiHost, consoleAuthFromEnv());
        }
        const logger = createLogger({ json, level: 'info' });
        const shutdown = stopOnSignals(logger);
        const warehouse = await openWarehouse({
          databaseUrl: databaseUrl || config.warehouse.url || undefined,
          // Sources may run at once; each also pins a connection for its lock.
          poolSize: poolSizeForSchedule(sources),
        });
        try {
          const metricsPort = options.metricsPort ?? config.scheduler.metricsPort;
          const metrics =
            metricsPort === undefined
              ? undefined
              : await serveMetrics(warehouse.db, {
                  host: options.metricsHost ?? config.scheduler.metricsHost,
                  port: metricsPort,
                  logger,
                });
          logger.info(
            { event: 'scheduler.warehouse', warehouse: warehouse.displayUrl },
            `warehouse: ${warehouse.displayUrl}`,
          );
          const ui = options.ui
            ? await serveConsole(warehouse, config, {
                host: options.uiHost,
                port: options.uiPort,
                logger,
                databaseUrl,
              })
            : undefined;
          try {
            await runScheduler(warehouse.db, config, {
              sources: options.source,
              logger,
              signal: shutdown.signal,
              replica: options.replica,
            });
          } finally {
            await ui?.close();
          }
          await metrics?.close();
        } finally {
          shutdown.dispose();
          await warehouse.close();
        }
      },
    );
}
