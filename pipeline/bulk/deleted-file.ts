import type { Readable } from 'node:stream';
import { sql, type Transaction } from '@databases/pg';
import { type DeletedReference, deletedReferences } from '../../connectors/bulk/index.ts';
import { deleteResources, type FileLoadResult, type FileToLoad } from '../../loaders/index.ts';
import { countedLines, type LoadContext } from '../ingest.ts';

const BATCH = 1000;
/** Unreadable lines kept whole in fhir_etl.rejects per file; more are counted in one summary row. */
const KEPT_REJECTS = 1000;
/** Characters of a rejected line kept, as the load path keeps for output files. */
const REJECT_TEXT_LIMIT = 4096;

/** A line of a deleted file that could not be read. */
interface UnreadableLine {
  line: number;
  reason: string;
  text: string;
}

/** The unreadable lines of one file: the first KEPT_REJECTS kept, the rest counted. */
interface Unreadable {
  kept: UnreadableLine[];
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
 * @see Bulk Data STU2 export.html#response---complete-status (deleted)
 */
export async function applyDeletedFile(
  load: LoadContext,
  file: FileToLoad,
  stream: Readable,
  options: { onBytes?: (n: number) => void; beforeCommit: (tx: Transaction) => Promise<void> },
): Promise<FileLoadResult> {
  const { lines, bytesRead } = countedLines(load, stream, options.onBytes);
  const unreadable: Unreadable = { kept: [], count: 0 };
  const result = await deleteResources(load.db, file, referenceBatches(lines, unreadable), {
    viewTables: load.viewTables,
    bytesRead,
    beforeCommit: async (tx) => {
      await recordUnreadable(tx, file, unreadable);
      await options.beforeCommit(tx);
    },
  });
  return {
    status: result.status,
    lines: result.references,
    bytes: result.bytes,
    resources: 0,
    rejects: result.status === 'loaded' ? unreadable.count : 0,
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
        unreadable.kept.push({ line: number, reason: `not JSON: ${(error as Error).message}`, text: line });
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

/** Writes the unreadable lines to fhir_etl.rejects and their count on the file's record, in the file's transaction. */
async function recordUnreadable(tx: Transaction, file: FileToLoad, unreadable: Unreadable): Promise<void> {
  if (unreadable.count === 0) return;
  const rows = [...unreadable.kept];
  const dropped = unreadable.count - rows.length;
  if (dropped > 0) {
    rows.push({
      line: 0,
      reason: `${dropped} more unreadable lines (not kept; only the first ${KEPT_REJECTS} are)`,
      text: '',
    });
  }
  await tx.query(sql`
    INSERT INTO fhir_etl.rejects (run_id, source, file, line, resource_type, reason, raw)
    SELECT ${file.runId}, ${file.source}, ${file.path}, nullif(r.line, 0), 'Bundle', r.reason, nullif(r.raw, '')
    FROM unnest(${rows.map((r) => r.line)}::bigint[], ${rows.map((r) => r.reason)}::text[],
                ${rows.map((r) => r.text.slice(0, REJECT_TEXT_LIMIT))}::text[]) AS r(line, reason, raw)`);
  await tx.query(sql`
    UPDATE fhir_etl.files SET rejects = ${unreadable.count} WHERE source = ${file.source} AND file_key = ${file.fileKey}`);
}
