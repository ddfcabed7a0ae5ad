export * from './errors.ts';
export { loadTransaction } from './postgres/load-connections.ts';
export { LoadTransaction, type SqlQueryable } from './postgres/load-transaction.ts';
export { COPY_NULL, encodeCopyValue, escapeCopyText } from './postgres/copy-text.ts';
export { migrate, readMigrations } from './postgres/migrate.ts';
export { type ExactlyOnce, type FileRecord, loadExactlyOnce } from './raw/exactly-once.ts';
export { type LoadFileOptions, loadFile } from './raw/load-file.ts';
export {
  alreadyLoadedResult,
  type FileLoadResult,
  type FileToLoad,
  type RejectRecord,
  type ResourceRecord,
  type TargetCounts,
  type TypeCounts,
} from './raw/types.ts';
export {
  type DeleteFileOptions,
  type DeleteFileResult,
  deleteResources,
  type ResourceReference,
} from './raw/delete-resources.ts';
export { type RawTableRegistry, rawTableName, rawTableRegistry } from './raw/raw-tables.ts';
export type { LoadTarget, MergedType, TargetBatch } from './raw/load-target.ts';
export * from './views/index.ts';
export {
  maskPassword,
  openWarehouse,
  type Warehouse,
  type WarehouseIdentity,
  warehouseIdentity,
  type WarehouseOptions,
  withDefaultUser,
} from './warehouse/connect.ts';
export { diskFullError, probeWarehouse, type WarehouseFault, warehouseFault } from './warehouse/faults.ts';
export { isDeadConnection } from './postgres/dead-connections.ts';
export {
  acquireEmbedded,
  defaultHome,
  freePort,
  releaseEmbedded,
  runningServer,
  startKept,
  stopKept,
} from './warehouse/embedded.ts';
export * from './access/index.ts';
export { EMBEDDED_READER } from './warehouse/embedded-reader.ts';
export { grantEmbeddedReader } from './warehouse/connect.ts';
export { readOnlyUrl, type ReadOnlyUrlOptions } from './warehouse/read-only-url.ts';
export * from './analytics/index.ts';
