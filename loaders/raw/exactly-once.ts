import { type ConnectionPool, sql } from '@databases/pg';
import { loadTransaction } from '../postgres/load-connections.ts';
import type { LoadTransaction } from '../postgres/load-transaction.ts';
import { LoadError } from '../errors.ts';
import type { FileToLoad } from './types.ts';

/** A file's row in fhir_etl.files: what it held and what of it landed. */
export interface FileRecord {
  bytes: number;
  lines: number;
  resources: number;
  rejects: number;
  /** The file kind's own counts (per resource type, deletions, issues), stored as jsonb. */
  counts: unknown;
}

export interface ExactlyOnce<R> {
  /** Completes the LoadError's "could not <action> <path>": `load`, `apply the deletions in`. */
  action: string;
  /** What the caller gets when an earlier load of the file committed. */
  alreadyLoaded: () => R;
  /**
   * Runs last inside the file's transaction, after its rows and its fhir_etl.files record:
   * a connector's own checkpoint (a REST page cursor, a bulk file's state) commits with the data.
   */
  beforeCommit?: ((tx: LoadTransaction, result: R) => Promise<void>) | undefined;
}

/**
 * Loads one file exactly once, whatever it holds (resources, deletions, a server's errors):
 * in one transaction, under the file's advisory lock, unless its fhir_etl.files row says an
 * earlier load committed; `body` writes the file's rows, then its fhir_etl.files record is
 * inserted and `beforeCommit` runs, so all of it commits or none of it does. Any failure
 * (the input breaking off included) rolls the whole back and comes out as a LoadError naming
 * the file: `isRetryableLoad` tells whether loading it again may succeed.
 */
export async function loadExactlyOnce<R>(
  db: ConnectionPool,
  file: FileToLoad,
  once: ExactlyOnce<R>,
  body: (tx: LoadTransaction) => Promise<{ result: R; record: FileRecord }>,
): Promise<R> {
  try {
    return await loadTransaction(db, async (tx) => {
      await tx.query(
        sql`SELECT pg_advisory_xact_lock(hashtextextended(${`${file.source}|${file.fileKey}`}, 0))`,
      );
      const committed = await tx.query(
        sql`SELECT 1 FROM fhir_etl.files WHERE source = ${file.source} AND file_key = ${file.fileKey}`,
      );
      if (committed.length > 0) return once.alreadyLoaded();
      const { result, record } = await body(tx);
      await tx.query(sql`
        INSERT INTO fhir_etl.files (source, file_key, path, bytes, lines, resources, rejects, counts, run_id)
        VALUES (${file.source}, ${file.fileKey}, ${file.path}, ${record.bytes}, ${record.lines},
                ${record.resources}, ${record.rejects}, ${JSON.stringify(record.counts)}::jsonb, ${file.runId})`);
      await once.beforeCommit?.(tx, result);
      return result;
    });
  } catch (cause) {
    if (cause instanceof LoadError) throw cause;
    throw new LoadError(
      `could not ${once.action} ${file.path}: ${(cause as Error).message}`,
      { file: file.path },
      cause,
    );
  }
}
