import type { Command } from 'commander';
import { UsageError } from '../exit-codes.ts';
import { eachValue } from '../option-parsers.ts';
import { configuredViewOptions, withWarehouse } from '../global-options.ts';
import { describeSkippedMarts } from '../skipped-marts.ts';
import { renderTable } from '../table.ts';

export function registerRebuildCommand(program: Command): void {
  program
    .command('rebuild')
    .description('recompute view tables from fhir_raw without extracting again')
    .option('--view <name...>', 'only these views (default: all)')
    .option(
      '--views <dir>',
      'a folder of your own ViewDefinitions, beside the shipped ones (repeat for more)',
      eachValue,
    )
    .option(
      '--cascade',
      'when a view table must drop or retype columns your own views read: save those views, change the table and recreate them, in one transaction',
    )
    .option(
      '--schema <name>',
      "schema of the view tables (default: the config's warehouse.schema, else fhir)",
    )
    .action(
      async (
        options: { view?: string[]; views?: string[] | false; cascade?: boolean; schema?: string },
        command: Command,
      ) => {
        const { viewDirs, schema } = await configuredViewOptions(command, options);
        const [{ rebuildViews }, { configuredViews, registeredViewTables }] = await Promise.all([
          import('../../pipeline/rebuild.ts'),
          import('../../pipeline/views.ts'),
        ]);
        const views = await configuredViews(viewDirs || []);
        const wanted = options.view;
        await withWarehouse(command, async (warehouse) => {
          // The warehouse's other view tables (their folders not given) are rebuilt from the
          // definitions they were built with.
          const kept = await registeredViewTables(
            warehouse.db,
            views.map((v) => v.name),
          );
          const unknown = (wanted ?? []).filter(
            (name) => !views.some((v) => v.name === name) && !kept.some((t) => t.view.name === name),
          );
          if (unknown.length > 0) {
            throw new UsageError(`no view named ${unknown.join(', ')}; \`fhir-etl view list\` shows them`);
          }
          const { runId, results, skippedMarts } = await rebuildViews(
            warehouse.db,
            views.filter((v) => !wanted || wanted.includes(v.name)),
            schema,
            kept.filter((t) => !wanted || wanted.includes(t.view.name)),
            options.cascade === true,
          );
          process.stdout.write(
            `${renderTable(
              ['view', 'resources', 'rows', 'failed'],
              results.map((r) => [r.view, r.resources, r.rows, r.failures.length]),
            )}\n`,
          );
          for (const r of results) {
            if (r.dependents.recreated.length > 0)
              process.stdout.write(`${r.view}: recreated ${r.dependents.recreated.join(', ')}\n`);
            for (const lost of r.dependents.notRecreated) {
              process.stderr.write(
                `${r.view}: could not recreate ${lost.view} (${lost.reason}); its definition is kept in fhir_etl.dropped_views\n`,
              );
            }
          }
          if (skippedMarts.length > 0) process.stderr.write(`${describeSkippedMarts(skippedMarts)}\n`);
          const notRecreated = results.reduce((sum, r) => sum + r.dependents.notRecreated.length, 0);
          const failures = results.flatMap((r) =>
            r.failures.map((f) => `${r.view}: ${f.source}/${f.id}: ${f.error}`),
          );
          for (const failure of failures.slice(0, 5)) process.stderr.write(`evaluation failed: ${failure}\n`);
          if (failures.length > 0) {
            process.stderr.write(
              `${failures.length} resources failed: \`fhir-etl rejects --run ${runId}\` lists them\n`,
            );
          }
          process.exitCode = failures.length > 0 || notRecreated > 0 ? 1 : 0;
        });
      },
    );
}
