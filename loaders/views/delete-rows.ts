import { sql } from '@databases/pg';
import type { SqlQueryable } from '../postgres/load-transaction.ts';
import { VIEW_TABLES_LOCK, type ViewTable } from './view-tables.ts';
import { queryRow } from '../postgres/query-row.ts';

/**
 * Removes every row of the deleted resources (listed in the temporary table
 * fhir_etl_deleted (resource_type, id)) from the view tables of their type: a child view's
 * lines go with their resource, and so do the value errors recorded for them.
 * @returns rows removed per view
 */
export async function deleteViewRows(
  tx: SqlQueryable,
  tables: ViewTable[],
  source: string,
  resourceTypes: string[],
): Promise<Record<string, number>> {
  await tx.query(sql`SELECT pg_advisory_xact_lock_shared(${VIEW_TABLES_LOCK})`);
  const removed: Record<string, number> = {};
  for (const table of tables) {
    if (!resourceTypes.includes(table.view.resource)) continue;
    const row = await queryRow<{ rows: number }>(
      tx,
      sql`
      WITH removed AS (
        DELETE FROM ${sql.ident(table.schema, table.table)} t USING fhir_etl_deleted d
        WHERE d.resource_type = ${table.view.resource} AND t._source = ${source} AND t._resource_id = d.id
        RETURNING 1
      )
      SELECT count(*)::int AS rows FROM removed`,
    );
    removed[table.view.name] = row.rows;
    // The values recorded as bad in those rows go with them.
    await tx.query(sql`
      DELETE FROM fhir_etl.value_errors v USING fhir_etl_deleted d
      WHERE v.view_name = ${table.view.name} AND v.source = ${source}
        AND d.resource_type = ${table.view.resource} AND v.resource_type = d.resource_type AND v.resource_id = d.id`);
  }
  return removed;
}
