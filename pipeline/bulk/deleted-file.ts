import type { Readable } from 'node:stream';
import type { Transaction } from '@databases/pg';
import { type DeletedReference, deletedReferences } from '../../connectors/bulk/index.ts';
import { deleteResources, type FileLoadResult, type FileToLoad } from '../../loaders/index.ts';
import { countedLines, type LoadContext } from '../ingest.ts';

const BATCH = 1000;

/**
 * Applies a `deleted` file: each line is a Bundle of DELETE entries; the resources they name
 * leave the view tables and are marked deleted in fhir_raw, in one transaction with the
 * file's record and `beforeCommit` (the export's bookkeeping). A line that is not JSON is
 * skipped: a deletion we cannot read must not block the deletions we can.
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
  const result = await deleteResources(load.db, file, referenceBatches(lines), {
    viewTables: load.viewTables,
    bytesRead,
    beforeCommit: (tx) => options.beforeCommit(tx),
  });
  return {
    status: result.status,
    lines: result.references,
    bytes: result.bytes,
    resources: 0,
    rejects: 0,
    counts: {},
    viewCounts: {},
  };
}

async function* referenceBatches(lines: AsyncIterable<string>): AsyncGenerator<DeletedReference[]> {
  let batch: DeletedReference[] = [];
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let bundle: unknown;
    try {
      bundle = JSON.parse(line);
    } catch {
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
