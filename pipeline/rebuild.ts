import { type ConnectionPool, sql } from '@databases/pg';
import {
  ensureMarts,
  keepReadersGranted,
  type RebuildResult,
  rawTableName,
  rebuildViewTables,
  refuseBlockedChanges,
  type SkippedMart,
  type ViewTable,
  viewTable,
} from '../loaders/index.ts';
import type { CompiledView } from '../transforms/index.ts';
import { finishRun, startRun } from './runs.ts';

export interface RebuildSummary {
  runId: number;
  results: RebuildResult[];
  /** Analytics marts left out, the view tables lacking what they read. */
  skippedMarts: SkippedMart[];
}

/**
 * `fhir-etl rebuild`: recomputes view tables from fhir_raw, recorded as a run; resources whose
 * evaluation fails are kept in fhir_etl.rejects with the view named, like a load's.
 */
export async function rebuildViews(
  db: ConnectionPool,
  views: CompiledView[],
  schema: string,
  /** Tables of views not among `views`, rebuilt from their stored definitions (registeredViewTables). */
  kept: ViewTable[] = [],
  /** `--cascade`: the user's views that read a changing column are saved, dropped and recreated. */
  cascade = false,
): Promise<RebuildSummary> {
  const tables = [...views.map((view) => viewTable(view, schema)), ...kept];
  // A change the user's views block is refused before the run is even recorded: nothing changes.
  await refuseBlockedChanges(db, tables, cascade);
  const runId = await startRun(db, 'rebuild', '*');
  try {
    const results = await rebuildViewTables(db, tables, { cascade, runId });
    const marts = await ensureMarts(db, schema);
    // A schema new to the warehouse (rebuild --schema): its readers read it at once.
    await keepReadersGranted(db, [...new Set(tables.map((table) => table.schema))]);
    const failures = results.flatMap((r) => r.failures.map((f) => ({ ...f, view: r.view })));
    for (const failure of failures) {
      const view = tables.find((t) => t.view.name === failure.view)?.view as CompiledView;
      await db.query(sql`
        INSERT INTO fhir_etl.rejects (run_id, source, file, resource_type, resource_id, reason)
        VALUES (${runId}, ${failure.source}, ${`fhir_raw.${rawTableName(view.resource)}`}, ${view.resource},
                ${failure.id}, ${`view ${failure.view}: ${failure.error}`})`);
    }
    await finishRun(db, runId, {
      files: 0,
      filesSkipped: 0,
      resources: results.reduce((sum, r) => sum + r.resources, 0),
      bytes: 0,
      rejects: failures.length,
      counts: {},
      viewCounts: Object.fromEntries(results.map((r) => [r.view, r.rows])),
    });
    return { runId, results, skippedMarts: marts.skipped };
  } catch (error) {
    await finishRun(
      db,
      runId,
      { files: 0, filesSkipped: 0, resources: 0, bytes: 0, rejects: 0, counts: {}, viewCounts: {} },
      (error as Error).message,
    );
    throw error;
  }
}
