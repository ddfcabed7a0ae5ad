import { sql } from '@databases/pg';
import type { SqlQueryable } from '../postgres/load-transaction.ts';
import type { FileToLoad } from '../raw/types.ts';
import { queryRow } from '../postgres/query-row.ts';

/** A value a view column could not hold, as recorded in fhir_etl.value_errors. */
export interface ValueError {
  /** The resource's line in its file (its position in a REST page). */
  line: number;
  resourceType: string;
  resourceId: string;
  view: string;
  column: string;
  /** The value as sent: a string as is, anything else as JSON. */
  value: string;
  reason: string;
}

/** Characters of a bad value kept. */
export const VALUE_TEXT_LIMIT = 1024;

/** The value as it is recorded: a string as sent, anything else as its JSON. */
export function recordedValue(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return text.length > VALUE_TEXT_LIMIT ? text.slice(0, VALUE_TEXT_LIMIT) : text;
}

/**
 * Records a file's value errors. `onlyChanged`: the errors are of staged rows, kept only for
 * the resources the merge changed (listed in fhir_etl_changed with their line as `seq`), as
 * their rows are. Returns how many were recorded.
 */
export async function insertValueErrors(
  tx: SqlQueryable,
  file: FileToLoad,
  errors: ValueError[],
  onlyChanged: boolean,
): Promise<number> {
  if (errors.length === 0) return 0;
  const row = await queryRow<{ n: number }>(
    tx,
    sql`
    WITH e AS (
      SELECT * FROM unnest(${errors.map((e) => e.line)}::bigint[], ${errors.map((e) => e.resourceType)}::text[],
                           ${errors.map((e) => e.resourceId)}::text[], ${errors.map((e) => e.view)}::text[],
                           ${errors.map((e) => e.column)}::text[], ${errors.map((e) => e.value)}::text[],
                           ${errors.map((e) => e.reason)}::text[])
        AS e(line, resource_type, resource_id, view_name, column_name, value, reason)
    ),
    recorded AS (
      INSERT INTO fhir_etl.value_errors
        (run_id, source, file, line, resource_type, resource_id, view_name, column_name, value, reason)
      SELECT ${file.runId}, ${file.source}, ${file.path}, e.line, e.resource_type, e.resource_id, e.view_name,
             e.column_name, e.value, e.reason
      FROM e
      ${
        onlyChanged
          ? sql`WHERE EXISTS (SELECT 1 FROM fhir_etl_changed c
                  WHERE c.resource_type = e.resource_type AND c.id = e.resource_id AND c.seq = e.line)`
          : sql``
      }
      RETURNING 1
    )
    SELECT count(*)::int AS n FROM recorded`,
  );
  return row.n;
}

/**
 * Forgets the value errors of the resources the merge changed (fhir_etl_changed) in one view:
 * their rows in it are being replaced, and so are their errors.
 */
export async function deleteChangedValueErrors(
  tx: SqlQueryable,
  file: FileToLoad,
  view: string,
  resourceType: string,
): Promise<void> {
  await tx.query(sql`
    DELETE FROM fhir_etl.value_errors v USING fhir_etl_changed c
    WHERE v.view_name = ${view} AND v.source = ${file.source}
      AND c.resource_type = ${resourceType} AND v.resource_type = c.resource_type AND v.resource_id = c.id`);
}
