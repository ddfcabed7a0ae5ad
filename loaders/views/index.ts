export { encoderFor, sqlTypeOf } from './column-types.ts';
export { deleteViewRows } from './delete-rows.ts';
export {
  type RebuildOptions,
  type RebuildResult,
  rebuildStaleViewTables,
  rebuildViewTables,
  refuseBlockedChanges,
} from './rebuild.ts';
export { type DependentsOutcome } from './dependents.ts';
export { isTopLevel, migrateViewTable, staleViewTables, type ViewTable, viewTable } from './view-tables.ts';
export { viewTarget } from './view-target.ts';
