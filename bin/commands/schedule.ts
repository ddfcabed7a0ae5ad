import { type Command, Option } from 'commander';
import { globalOptions, loadConfiguration } from '../global-options.ts';
import { port } from '../option-parsers.ts';

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
    .action(async (options, command: Command) => {
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
        await runScheduler(warehouse.db, config, {
          sources: options.source,
          logger,
          signal: shutdown.signal,
          replica: options.replica,
        });
        await metrics?.close();
      } finally {
        shutdown.dispose();
        await warehouse.close();
      }
    });
}
