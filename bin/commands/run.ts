import { type Command, Option } from 'commander';
import type { ProgressReporter } from '../../pipeline/progress.ts';
import type { SourceRunResult } from '../../pipeline/run-recorder.ts';
import { EXIT, UsageError } from '../exit-codes.ts';
import { globalOptions, loadConfiguration, withWarehouse } from '../global-options.ts';
import { instant } from '../option-parsers.ts';
import { renderTable } from '../table.ts';

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('extract the configured sources (Bulk Data, FHIR REST, landing folders) and load them')
    .option('--source <name...>', 'only these sources (default: all in the config)')
    .option('--full-refresh', 'ignore the incremental checkpoint and extract everything', false)
    .addOption(
      new Option('--since <instant>', 'extract what changed since this FHIR instant').argParser(
        instant('--since'),
      ),
    )
    .addOption(
      new Option(
        '--until <instant>',
        'bulk sources: extract what changed up to this FHIR instant (_until)',
      ).argParser(instant('--until')),
    )
    .action(
      async (
        options: { source?: string[]; fullRefresh: boolean; since?: string; until?: string },
        command: Command,
      ) => {
        const { json } = globalOptions(command);
        const config = await loadConfiguration(command);
        if (config.sources.length === 0) {
          throw new UsageError(
            `no sources configured${config.file ? ` in ${config.file}` : ''}: write fhir-etl.config.yaml (see config/*.example.yaml) or pass --config`,
          );
        }
        const [
          { logProgress, terminalProgress },
          { poolSizeForRun },
          { runSources, selectSources },
          { stopOnSignals },
        ] = await Promise.all([
          import('../../pipeline/progress.ts'),
          import('../../pipeline/connections.ts'),
          import('../../pipeline/run.ts'),
          import('../../pipeline/scheduler/shutdown.ts'),
        ]);
        await withWarehouse(
          command,
          async (warehouse, logger) => {
            const progress: ProgressReporter =
              !json && process.stderr.isTTY ? terminalProgress() : logProgress(logger);
            // SIGTERM / Ctrl-C: the files in flight commit or roll back whole, then the run ends.
            const shutdown = stopOnSignals(logger);
            const results = await runSources(warehouse.db, config, {
              sources: options.source,
              request: { fullRefresh: options.fullRefresh, since: options.since, until: options.until },
              logger,
              progress,
              signal: shutdown.signal,
            }).finally(() => shutdown.dispose());
            if (json)
              for (const r of results) logger.info({ event: 'source.done', ...r }, `${r.source} ${r.status}`);
            else process.stdout.write(`${describeRuns(results)}\n`);
            process.exitCode = runsExitCode(results);
          },
          {
            poolSize: poolSizeForRun(selectSources(config, options.source)),
          },
        );
      },
    );
}

/**
 * 1 when a source's run failed; else 3 when one was skipped (another process is running it:
 * nothing to retry, nothing to alert on); else 0.
 */
export function runsExitCode(results: SourceRunResult[]): number {
  if (results.some((r) => r.status === 'failed')) return EXIT.failed;
  if (results.some((r) => r.status === 'skipped')) return EXIT.skipped;
  return EXIT.ok;
}

/**
 * One line per source, then each failure (or skip) in full. Lines read and resources landed
 * are apart: an incremental export re-reads many resources that change nothing (`unchanged`:
 * identical or older copies, and repeats of an id).
 */
export function describeRuns(results: SourceRunResult[]): string {
  const table = renderTable(
    [
      'source',
      'run',
      'status',
      'files',
      'lines read',
      'inserted',
      'updated',
      'unchanged',
      'rejects',
      'seconds',
    ],
    results.map((r) => [
      r.source,
      r.runId,
      r.status,
      r.files,
      r.lines,
      r.inserted,
      r.updated,
      Math.max(0, r.resources - r.inserted - r.updated),
      r.rejects,
      Number((r.durationMs / 1000).toFixed(1)),
    ]),
  );
  const failures = results.filter((r) => r.error).map((r) => `${r.source} ${r.status}: ${r.error}`);
  const rejects = results
    .filter((r) => r.rejects > 0)
    .map((r) => `${r.source}: ${r.rejects} lines rejected; \`fhir-etl rejects --run ${r.runId}\` lists them`);
  const values = results
    .filter((r) => (r.valueErrors ?? 0) > 0)
    .map(
      (r) =>
        `${r.source}: ${r.valueErrors} values did not fit their view column and were written NULL; ` +
        `\`fhir-etl rejects --values --run ${r.runId}\` lists them`,
    );
  const warnings = results.flatMap((r) => (r.warnings ?? []).map((w) => `${r.source} warning: ${w}`));
  return [table, ...rejects, ...values, ...warnings, ...failures].join('\n');
}
