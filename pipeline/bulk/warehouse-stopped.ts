import type { ConnectionPool } from '@databases/pg';
import { WarehouseError, type WarehouseFault, warehouseIdentity } from '../../loaders/index.ts';

/**
 * One error for an export the warehouse failed (it stopped answering, or its disk filled),
 * instead of one per file: which server, what it said, and how far the export got. What
 * committed stays committed, and the export stays resumable.
 */
export function warehouseStoppedExport(
  db: ConnectionPool,
  fault: WarehouseFault,
  progress: { exportId: number; committed: number; pending: number },
  cause: unknown,
): WarehouseError {
  const server = warehouseIdentity(db)?.displayUrl ?? 'the warehouse';
  const what = fault.kind === 'disk-full' ? 'ran out of disk space' : 'stopped answering';
  return new WarehouseError(
    `the warehouse ${server} ${what} (${fault.reason}) during export ${progress.exportId}: ` +
      `${progress.committed} of ${progress.pending} files committed, no other file was started; ` +
      'run again once it is back: the export resumes from the committed files',
    { url: server, exportId: progress.exportId },
    cause,
  );
}
