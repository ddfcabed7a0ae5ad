import type { Readable } from 'node:stream';
import type { SqlQueryable } from '../../loaders/postgres/load-transaction.ts';
import { type OutcomeIssue, outcomeIssues } from '../../connectors/bulk/index.ts';
import {
  alreadyLoadedResult,
  type FileLoadResult,
  type FileToLoad,
  loadExactlyOnce,
} from '../../loaders/index.ts';
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
  options: { onBytes?: (n: number) => void; beforeCommit: (tx: SqlQueryable) => Promise<void> },
): Promise<FileLoadResult & { issues: number }> {
  const { lines, bytesRead } = countedLines(load, stream, options.onBytes);
  return loadExactlyOnce<FileLoadResult & { issues: number }>(
    load.db,
    file,
    {
      action: 'record the errors in',
      alreadyLoaded: () => ({ ...alreadyLoadedResult(), issues: 0 }),
      beforeCommit: options.beforeCommit,
    },
    async (tx) => {
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
      const bytes = bytesRead();
      return {
        result: {
          status: 'loaded',
          lines: count,
          bytes,
          resources: 0,
          rejects: 0,
          counts: {},
          viewCounts: {},
          issues,
        },
        record: { bytes, lines: count, resources: 0, rejects: 0, counts: { issues } },
      };
    },
  );
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
