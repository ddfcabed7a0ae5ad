import { type Command, Option } from 'commander';
import { EXIT } from '../exit-codes.ts';
import { positiveInt, seed } from '../option-parsers.ts';
import { withWarehouse } from '../global-options.ts';
import { renderTable } from '../table.ts';
import { describeRuns } from './run.ts';
import { CONSOLE_DEFAULTS } from './ui.ts';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'the whole job on this machine: a 1up-like sandbox, the embedded warehouse, a bulk and a payer source',
    )
    .addOption(
      new Option('--patients <n>', 'members the sandbox generates')
        .default(50)
        .argParser(positiveInt('--patients')),
    )
    .addOption(new Option('--seed <n>', 'seed of the synthetic data').default(1).argParser(seed('--seed')))
    .action(async (options: { patients: number; seed: number }, command: Command) => {
      const say = (line: string) => process.stdout.write(`${line}\n`);
      const [
        {
          CLAIMS_PER_MEMBER_MONTH,
          DEMO_SOURCES,
          claimsPerMemberMonth,
          demoPoolSize,
          runDemo,
          viewTableCounts,
        },
        { logProgress },
        { readOnlyUrl },
      ] = await Promise.all([
        import('../../pipeline/demo.ts'),
        import('../../pipeline/progress.ts'),
        import('../../loaders/index.ts'),
      ]);
      await withWarehouse(
        command,
        async (warehouse, logger) => {
          say(
            `warehouse: ${warehouse.displayUrl}${warehouse.embedded ? ' (embedded PostgreSQL under .fhir-etl/)' : ''}`,
          );
          const { runs } = await runDemo(warehouse.db, {
            patients: options.patients,
            seed: options.seed,
            logger,
            progress: logProgress(logger),
            say,
          });
          say(`\n${describeRuns(runs)}\n`);
          const counts = (await viewTableCounts(warehouse.db, Object.values(DEMO_SOURCES))).filter(
            (c) => c.rows > 0,
          );
          say(
            renderTable(
              ['table', 'rows'],
              counts.map((c) => [c.table, c.rows]),
            ),
          );
          say(
            `\nClaims and paid amount per member per month (top 10):\n\n${indent(CLAIMS_PER_MEMBER_MONTH)}\n`,
          );
          const answer = await claimsPerMemberMonth(warehouse.db);
          say(
            renderTable(
              ['member_id', 'full_name', 'month', 'claims', 'paid'],
              answer.map((r) => [
                r.member_id as string,
                r.full_name as string,
                r.month as string,
                r.claims as number,
                Number(r.paid ?? 0),
              ]),
            ),
          );
          say(`\n${howToConnect(warehouse.embedded ? await readOnlyUrl() : undefined)}`);
          say(`\n${howToLook(warehouse.embedded)}`);
          process.exitCode = runs.every((r) => r.status === 'succeeded') ? EXIT.ok : EXIT.failed;
        },
        // $DATABASE_URL may well point at a real warehouse: the demo's synthetic members go into
        // the embedded one unless --database-url asks for another explicitly.
        { poolSize: demoPoolSize(), explicitDatabaseUrlOnly: true },
      );
    });
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

/** `readerUrl`: the embedded server's read-only URL; undefined for a warehouse of the user's own. */
function howToConnect(readerUrl: string | undefined): string {
  const lines = readerUrl
    ? [
        'Query it yourself:',
        '    npx fhir-etl db start                    # keeps the embedded PostgreSQL running, prints its URL',
        '    psql "$(npx fhir-etl db url --read-only)" -c "SELECT * FROM fhir.explanation_of_benefit LIMIT 5"',
        '    npx fhir-etl db stop',
        'BI tools (Metabase, Superset, Power BI): after `db start`, connect with the read-only URL',
        `    ${readerUrl}`,
        '(role fhir_reader: reads schemas fhir and analytics, never fhir_etl, where tokens and secrets are kept;',
        '`npx fhir-etl db url --read-only` prints it again; docs/tables.md lists the tables).',
      ]
    : [
        'Query it yourself: the tables are in schema fhir of that database (docs/tables.md). For BI tools, create a',
        'login role and run `npx fhir-etl db grant-read ROLE`: it reads fhir and analytics, never fhir_etl (docs/operations.md).',
      ];
  return [
    ...lines,
    'Your own sources: copy config/sandbox.example.yaml or a 1up example to fhir-etl.config.yaml, then `npx fhir-etl run`.',
  ].join('\n');
}

/** The demo's last words: the web console, its command and its URL. */
function howToLook(embedded: boolean): string {
  const url = `http://${CONSOLE_DEFAULTS.host}:${CONSOLE_DEFAULTS.port}/`;
  return embedded
    ? `Look at it in your browser (pipeline, member records rendered and raw, analytics):\n    npx fhir-etl ui                          # then open ${url}`
    : `Look at it in your browser: npx fhir-etl --database-url URL ui (with warehouse.readerUrl, a read-only role: docs/operations.md), then open ${url}`;
}
