import { sql, type Transaction } from '@databases/pg';
import type { FileToLoad, RejectRecord } from './types.ts';

/** Characters of a rejected line kept in fhir_etl.rejects.raw. */
export const REJECT_TEXT_LIMIT = 4096;

/**
 * Writes rejected lines of a file to fhir_etl.rejects, in the file's transaction; returns
 * how many. A reject on line 0 is about the file rather than one line of it (a summary of
 * lines not kept), and one with empty text has no raw text: both are stored as NULL.
 */
export async function insertRejects(
  tx: Transaction,
  file: FileToLoad,
  rejects: RejectRecord[],
  textLimit = REJECT_TEXT_LIMIT,
): Promise<number> {
  if (rejects.length === 0) return 0;
  await tx.query(sql`
    INSERT INTO fhir_etl.rejects (run_id, source, file, line, resource_type, resource_id, reason, raw)
    SELECT ${file.runId}, ${file.source}, ${file.path}, nullif(r.line, 0), r.resource_type, r.resource_id, r.reason,
           nullif(r.raw, '')
    FROM unnest(${rejects.map((r) => r.line)}::bigint[], ${rejects.map((r) => r.resourceType ?? null)}::text[],
                ${rejects.map((r) => r.id ?? null)}::text[], ${rejects.map((r) => r.reason)}::text[],
                ${rejects.map((r) => r.text.slice(0, textLimit))}::text[])
         AS r(line, resource_type, resource_id, reason, raw)`);
  return rejects.length;
}
