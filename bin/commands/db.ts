import type { Command } from 'commander';

export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('the embedded PostgreSQL under .fhir-etl/postgres');
  db.command('start')
    .description('start the embedded server and keep it running; prints its connection URL')
    .action(async () => {
      const { migrate, openWarehouse, startKept } = await import('../../loaders/index.ts');
      const server = await startKept();
      // Prepare the schema now, so psql and BI tools see the tables before the first load.
      const warehouse = await openWarehouse({ databaseUrl: server.url, migrate: false });
      try {
        await migrate(warehouse.db);
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
    .action(async () => {
      const { runningServer } = await import('../../loaders/index.ts');
      const server = await runningServer();
      if (!server) {
        process.stderr.write('embedded PostgreSQL is not running: start it with `fhir-etl db start`\n');
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${server.url}\n`);
    });
}
