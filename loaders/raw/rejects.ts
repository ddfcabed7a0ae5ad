import { sql } from '@databases/pg';
import type { SqlQueryable } from '../postgres/load-transaction.ts';
import type { FileToLoad, RejectRecord } from './types.ts';

/** Characters of a rejected line kept in fhir_etl.rejects.raw. */
export const REJECT_TEXT_LIMIT = 4096;

/**
 * Writes rejected lines of a file to fhir_etl.rejects, in the file's transaction; returns
 * how many. A reject on line 0 is about the file rather than one line of it (a summary of
 * lines not kept), and one with empty text has no raw text: both are stored as NULL.
 *
 * A file with a `rejectKey` (a Bulk file, which a new export may download again) keys each
 * reject by that key, its line and a hash of its reason and text: the same line rejected
 * again replaces the earlier row (moved to this run) instead of adding a second one.
 */
export async function insertRejects(
  tx: SqlQueryable,
  file: FileToLoad,
  rejects: RejectRecord[],
  textLimit = REJECT_TEXT_LIMIT,
): Promise<number> {
  if (rejects.length === 0) return 0;
  const rows = sql`
    SELECT ${file.runId}::bigint AS run_id, ${file.source} AS source, ${file.path} AS file, nullif(r.line, 0) AS line,
           r.resource_type, r.resource_id, r.reason, nullif(r.raw, '') AS raw
    FROM unnest(${rejects.map((r) => r.line)}::bigint[], ${rejects.map((r) => r.resourceType ?? null)}::text[],
                ${rejects.map((r) => r.id ?? null)}::text[], ${rejects.map((r) => r.reason)}::text[],
                ${rejects.map((r) => r.text.slice(0, textLimit))}::text[])
         AS r(line, resource_type, resource_id, reason, raw)`;
  if (file.rejectKey === undefined) {
    await tx.query(sql`
      INSERT INTO fhir_etl.rejects (run_id, source, file, line, resource_type, resource_id, reason, raw)
      SELECT run_id, source, file, line, resource_type, resource_id, reason, raw FROM (${rows}) r`);
    return rejects.length;
  }
  const key = sql`${file.rejectKey}::text || ':' || coalesce(r.line, 0) || ':' || md5(r.reason || E'\\n' || coalesce(r.raw, ''))`;
  await tx.query(sql`
    INSERT INTO fhir_etl.rejects (run_id, source, file, line, resource_type, resource_id, reason, raw, reject_key)
    SELECT DISTINCT ON (reject_key) * FROM (
      SELECT run_id, source, file, line, resource_type, resource_id, reason, raw, ${key} AS reject_key FROM (${rows}) r
    ) keyed
    ON CONFLICT (source, reject_key) WHERE reject_key IS NOT NULL DO UPDATE
      SET run_id = EXCLUDED.run_id, file = EXCLUDED.file, rejected_at = now()`);
  return rejects.length;
}
