import { type Command, Option } from 'commander';
import type { LoadSummary } from '../../pipeline/load.ts';
import type { ProgressReporter } from '../../pipeline/progress.ts';
import { EXIT } from '../exit-codes.ts';
import { eachValue, positiveInt, wholeNumber } from '../option-parsers.ts';
import { configuredViewOptions, globalOptions, loadConfiguration, withWarehouse } from '../global-options.ts';
import { describeSkippedMarts } from '../skipped-marts.ts';
import { renderTable } from '../table.ts';

export function registerLoadCommand(program: Command): void {
  program
    .command('load')
    .description('load local NDJSON files (.ndjson, .ndjson.gz), folders of them, or - for stdin')
    .argument('<paths...>', 'files, folders, or - for standard input')
    .option('--source <name>', 'source name the rows are recorded under', 'local')
    .addOption(
      new Option('--concurrency <n>', 'files loaded at once')
        .default(2)
        .argParser(positiveInt('--concurrency')),
    )
    .addOption(
      new Option('--max-line-bytes <n>', 'longer lines are rejected')
        .default(64 * 1024 * 1024)
        .argParser(positiveInt('--max-line-bytes')),
    )
    .addOption(
      new Option(
        '--max-rejects <n>',
        "a file with more rejected lines and values that do not fit their column is rolled back and the load fails (default: the config's load.maxRejects, else no limit)",
      ).argParser(wholeNumber('--max-rejects')),
    )
    .option(
      '--views <dir>',
      'a folder of your own ViewDefinitions, loaded beside the shipped ones (repeat for more)',
      eachValue,
    )
    .option('--no-views', 'land fhir_raw only; fill no view tables')
    .option(
      '--schema <name>',
      "schema of the view tables (default: the config's warehouse.schema, else fhir)",
    )
    .action(
      async (
        paths: string[],
        options: {
          source: string;
          concurrency: number;
          maxLineBytes: number;
          maxRejects?: number;
          views?: string[] | false;
          schema?: string;
        },
        command: Command,
      ) => {
        const { json } = globalOptions(command);
        // Commander folds --views DIR and --no-views into one option: false, or a list of folders.
        const { viewDirs, schema } = await configuredViewOptions(command, options);
        const [{ loadPaths }, { logProgress, terminalProgress }, { poolSizeForLoad }, { configuredViews }] =
          await Promise.all([
            import('../../pipeline/load.ts'),
            import('../../pipeline/progress.ts'),
            import('../../pipeline/connections.ts'),
            import('../../pipeline/views.ts'),
          ]);
        const views = viewDirs === false ? [] : await configuredViews(viewDirs);
        const noViews = viewDirs === false;
        const maxRejects: number | undefined =
          options.maxRejects ?? (await loadConfiguration(command)).load.maxRejects;
        await withWarehouse(
          command,
          async (warehouse, logger) => {
            const progress: ProgressReporter =
              !json && process.stderr.isTTY ? terminalProgress() : logProgress(logger);
            const summary = await loadPaths(warehouse.db, {
              paths,
              source: options.source,
              concurrency: options.concurrency,
              maxLineBytes: options.maxLineBytes,
              maxRejects,
              progress,
              views,
              viewSchema: schema,
              noViews,
              onWarehouseWait: (message) => logger.warn({ event: 'load.warehouse_wait' }, message),
            });
            if (json) {
              const failure = summary.warehouseFailure ? `: ${summary.warehouseFailure}` : '';
              logger.info(
                { event: 'load.done', ...withoutOutcomes(summary) },
                `load ${summary.status}${failure}`,
              );
            } else process.stdout.write(`${describeLoad(summary)}\n`);
            process.exitCode = summary.status === 'succeeded' ? EXIT.ok : EXIT.failed;
          },
          { poolSize: poolSizeForLoad(options.concurrency) },
        );
      },
    );
}

function withoutOutcomes(summary: LoadSummary) {
  const { outcomes, ...rest } = summary;
  return {
    ...rest,
    failures: outcomes.filter((o) => o.error).map((o) => ({ file: o.path, error: o.error })),
    notStarted: outcomes.filter((o) => o.notStarted).map((o) => o.path),
  };
}

/** The summary a person reads after a load: rows per type, rejects, speed, failures. */
export function describeLoad(summary: LoadSummary): string {
  const seconds = summary.durationMs / 1000;
  const rows = Object.entries(summary.counts as Record<string, number>)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([type, resources]) => [type, resources]);
  const out: string[] = [];
  if (rows.length > 0) out.push(renderTable(['resource type', 'resources'], rows), '');
  out.push(
    `run ${summary.runId} ${summary.status}: ${summary.resources} resources from ${summary.files} files` +
      `${summary.filesSkipped > 0 ? ` (${summary.filesSkipped} already loaded, skipped)` : ''}` +
      ` in ${seconds.toFixed(1)} s (${Math.round(summary.resources / Math.max(seconds, 0.001))} resources/s,` +
      ` ${(summary.bytes / 1e6 / Math.max(seconds, 0.001)).toFixed(1)} MB/s)`,
  );
  if (summary.keptViews.length > 0) {
    out.push(
      `also filled, from the definitions the warehouse keeps: ${summary.keptViews.join(', ')} ` +
        '(their folders were not given; give them with --views to change those views)',
    );
  }
  if (summary.skippedMarts.length > 0) out.push(describeSkippedMarts(summary.skippedMarts));
  if (summary.rejects > 0) {
    out.push(
      `${summary.rejects} lines rejected: list them with \`fhir-etl rejects --run ${summary.runId}\`` +
        ` (or SELECT * FROM fhir_etl.rejects WHERE run_id = ${summary.runId})`,
    );
  }
  if (summary.valueErrors) out.push(describeValueErrors(summary.valueErrors, summary.runId));
  // The warehouse failing the load is one summary, not a line per file it failed.
  if (summary.warehouseFailure) out.push(`FAILED: ${summary.warehouseFailure}`);
  else {
    for (const outcome of summary.outcomes) {
      if (outcome.error)
        out.push(`FAILED ${outcome.path}: ${outcome.error} (nothing of this file was committed)`);
    }
  }
  return out.join('\n');
}

/** The line a summary gives to values written NULL because their column could not hold them. */
export function describeValueErrors(count: number, runId: number): string {
  return (
    `${count} values did not fit their view column and were written NULL (the resources are in fhir_raw): ` +
    `list them with \`fhir-etl rejects --values --run ${runId}\` (or SELECT * FROM fhir_etl.value_errors WHERE run_id = ${runId})`
  );
}
