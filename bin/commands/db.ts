import type { Command } from 'commander';
import { globalOptions, withWarehouse } from '../global-options.ts';

export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('the embedded PostgreSQL under .fhir-etl/postgres');
  db.command('start')
    .description('start the embedded server and keep it running; prints its connection URL')
    .action(async () => {
      const { grantEmbeddedReader, migrate, openWarehouse, startKept } =
        await import('../../loaders/index.ts');
      const server = await startKept();
      // Prepare the schema now, so psql and BI tools see the tables before the first load.
      const warehouse = await openWarehouse({ databaseUrl: server.url, migrate: false });
      try {
        await migrate(warehouse.db);
        await grantEmbeddedReader(warehouse.db);
      } finally {
        await warehouse.close();
      }
      process.stdout.write(`${server.url}\n`);
      process.stderr.write(
        `embedded PostgreSQL running on 127.0.0.1:${server.port}; stop it with \`fhir-etl db stop\`\n`,
      );
    });
  db.command('stop')
    .description('stop the embedded server')
    .action(async () => {
      const { stopKept } = await import('../../loaders/index.ts');
      const stopped = await stopKept();
      process.stderr.write(
        stopped ? 'embedded PostgreSQL stopped\n' : 'embedded PostgreSQL was not running\n',
      );
    });
  db.command('url')
    .description('print the connection URL of the running embedded server')
    .option(
      '--read-only',
      'the URL for BI tools and psql sessions: a role that reads the view tables and analytics, never fhir_etl',
      false,
    )
    .action(async (options: { readOnly: boolean }, command: Command) => {
      if (options.readOnly) {
        const [{ loadConfig }, { readOnlyUrl }] = await Promise.all([
          import('../../config/index.ts'),
          import('../../loaders/index.ts'),
        ]);
        const { databaseUrl, config: configFile } = globalOptions(command);
        const config = await loadConfig(configFile);
        const url = await readOnlyUrl({
          databaseUrl: databaseUrl || config.warehouse.url,
          readerUrl: config.warehouse.readerUrl,
        });
        process.stdout.write(`${url}\n`);
        return;
      }
      const { runningServer } = await import('../../loaders/index.ts');
      const server = await runningServer();
      if (!server) {
        process.stderr.write('embedded PostgreSQL is not running: start it with `fhir-etl db start`\n');
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${server.url}\n`);
    });
  db.command('grant-read')
    .description(
      'let ROLE read the view tables, analytics and fhir_etl_status (now and as tables are created), never fhir_etl',
    )
    .argument('<role>', 'an existing login role (CREATE ROLE bi_reader LOGIN PASSWORD ...)')
    .option('--raw', 'also the raw FHIR resources in fhir_raw', false)
    .action(async (role: string, options: { raw: boolean }, command: Command) => {
      const [{ loadConfig }, { grantRead, viewSchemasOf }] = await Promise.all([
        import('../../config/index.ts'),
        import('../../loaders/index.ts'),
      ]);
      const config = await loadConfig(globalOptions(command).config);
      await withWarehouse(command, async (warehouse) => {
        const schemas = await grantRead(
          warehouse.db,
          { role, raw: options.raw },
          await viewSchemasOf(warehouse.db, config.warehouse.schema),
        );
        process.stdout.write(
          `${role} reads every table and view in ${schemas.join(', ')} (those created later too); ` +
            `never fhir_etl${options.raw ? '' : ' nor fhir_raw'}\n`,
        );
      });
    });
}
