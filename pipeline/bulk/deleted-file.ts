import type { Readable } from 'node:stream';
import type { SqlQueryable } from '../../loaders/postgres/load-transaction.ts';
import { type DeletedReference, deletedReferences } from '../../connectors/bulk/index.ts';
import {
  deleteResources,
  type FileLoadResult,
  type FileToLoad,
  type RejectRecord,
} from '../../loaders/index.ts';
import { countedLines, type LoadContext } from '../ingest.ts';

const BATCH = 1000;
/** Unreadable lines kept whole in fhir_etl.rejects per file; more are counted in one summary row. */
const KEPT_REJECTS = 1000;

/** The unreadable lines of one file: the first KEPT_REJECTS kept, the rest counted. */
interface Unreadable {
  kept: RejectRecord[];
  count: number;
}

/**
 * Applies a `deleted` file: each line is a Bundle of DELETE entries; the resources they name
 * leave the view tables and are marked deleted in fhir_raw, in one transaction with the
 * file's record and `beforeCommit` (the export's bookkeeping). A line that is not JSON is
 * skipped, since a deletion we cannot read must not block the deletions we can, but never
 * silently: it goes to fhir_etl.rejects with its line number and text, like an unreadable line
 * of an output file, and counts in the file's and the run's rejects.
 *
 * A resource deleted and also listed in an output file of the same export: the output files
 * have all committed before this file starts (see loadFiles), so the rule does not depend on
 * timing: the stored copy stays when its meta.lastUpdated is later than the deletion (the
 * entry's date, else the export's transactionTime); otherwise the deletion wins.
 *
 * @see Bulk Data STU2 export.html#response---complete-status (deleted)
 */
export async function applyDeletedFile(
  load: LoadContext,
  file: FileToLoad,
  stream: Readable,
  options: {
    onBytes?: (n: number) => void;
    beforeCommit: (tx: SqlQueryable) => Promise<void>;
    /** The export's transactionTime: the date of deletions whose entries carry none. */
    transactionTime: string;
  },
): Promise<FileLoadResult> {
  const { lines, bytesRead } = countedLines(load, stream, options.onBytes);
  const unreadable: Unreadable = { kept: [], count: 0 };
  const result = await deleteResources(load.db, file, referenceBatches(lines, unreadable), {
    viewTables: load.viewTables,
    bytesRead,
    rejects: () => rejectsOf(unreadable),
    beforeCommit: options.beforeCommit,
    deletedAsOf: options.transactionTime,
  });
  return {
    status: result.status,
    lines: result.references,
    bytes: result.bytes,
    resources: 0,
    rejects: result.rejects,
    counts: {},
    viewCounts: {},
  };
}

async function* referenceBatches(
  lines: AsyncIterable<string>,
  unreadable: Unreadable,
): AsyncGenerator<DeletedReference[]> {
  let batch: DeletedReference[] = [];
  let number = 0;
  for await (const line of lines) {
    number++;
    if (line.trim() === '') continue;
    let bundle: unknown;
    try {
      bundle = JSON.parse(line);
    } catch (error) {
      unreadable.count++;
      if (unreadable.kept.length < KEPT_REJECTS) {
        unreadable.kept.push({
          ok: false,
          line: number,
          resourceType: 'Bundle',
          reason: `not JSON: ${(error as Error).message}`,
          text: line,
        });
      }
      continue;
    }
    batch.push(...deletedReferences(bundle));
    if (batch.length >= BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** The rejects of a file's unreadable lines: those kept, then one summary row (line 0, no text) for the rest. */
function rejectsOf(unreadable: Unreadable): { kept: RejectRecord[]; count: number } {
  const dropped = unreadable.count - unreadable.kept.length;
  if (dropped === 0) return unreadable;
  const summary: RejectRecord = {
    ok: false,
    line: 0,
    resourceType: 'Bundle',
    reason: `${dropped} more unreadable lines (not kept; only the first ${KEPT_REJECTS} are)`,
    text: '',
  };
  return { kept: [...unreadable.kept, summary], count: unreadable.count };
}
