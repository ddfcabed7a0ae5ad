import type { Readable } from 'node:stream';
import { sql, type Transaction } from '@databases/pg';
import { type OutcomeIssue, outcomeIssues } from '../../connectors/bulk/index.ts';
import type { FileLoadResult, FileToLoad } from '../../loaders/index.ts';
import { countedLines, type LoadContext } from '../ingest.ts';
import { recordBulkErrors } from './export-store.ts';

/**
 * Records an `error` file: each line is an OperationOutcome (informational ones included);
 * its issues go to fhir_etl.bulk_errors, where `fhir-etl status` shows them, in one
 * transaction with the file's record and `beforeCommit`.
 *
 * @see Bulk Data STU2 export.html#response---complete-status (error)
 */
export async function recordErrorFile(
  load: LoadContext,
  file: FileToLoad,
  details: { exportId: number; resourceType: string },
  stream: Readable,
  options: { onBytes?: (n: number) => void; beforeCommit: (tx: Transaction) => Promise<void> },
): Promise<FileLoadResult & { issues: number }> {
  const { lines, bytesRead } = countedLines(load, stream, options.onBytes);
  return load.db.tx(async (tx) => {
    await tx.query(
      sql`SELECT pg_advisory_xact_lock(hashtextextended(${`${file.source}|${file.fileKey}`}, 0))`,
    );
    const done = await tx.query(
      sql`SELECT 1 FROM fhir_etl.files WHERE source = ${file.source} AND file_key = ${file.fileKey}`,
    );
    if (done.length > 0) return { ...emptyResult('already-loaded'), issues: 0 };
    let count = 0;
    let issues = 0;
    const batch: OutcomeIssue[] = [];
    for await (const line of lines) {
      if (line.trim() === '') continue;
      count++;
      batch.push(...issuesOf(line));
      if (batch.length >= 1000) {
        issues += batch.length;
        await recordBulkErrors(tx, file.source, details.exportId, batch.splice(0), details.resourceType);
      }
    }
    issues += batch.length;
    await recordBulkErrors(tx, file.source, details.exportId, batch, details.resourceType);
    await tx.query(sql`
      INSERT INTO fhir_etl.files (source, file_key, path, bytes, lines, resources, rejects, counts, run_id)
      VALUES (${file.source}, ${file.fileKey}, ${file.path}, ${bytesRead()}, ${count}, 0, 0, ${JSON.stringify({ issues })}::jsonb, ${file.runId})`);
    await options.beforeCommit(tx);
    return { ...emptyResult('loaded'), lines: count, bytes: bytesRead(), issues };
  });
}

/** A line that is not an OperationOutcome is still an error the server reported: kept as its text. */
function issuesOf(line: string): OutcomeIssue[] {
  try {
    const issues = outcomeIssues(JSON.parse(line));
    if (issues.length > 0) return issues;
  } catch {
    // fall through: keep the raw text
  }
  return [{ severity: 'error', diagnostics: line.slice(0, 4000) }];
}

function emptyResult(status: FileLoadResult['status']): FileLoadResult {
  return { status, lines: 0, bytes: 0, resources: 0, rejects: 0, counts: {}, viewCounts: {} };
}
