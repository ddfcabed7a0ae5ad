export { encoderFor, sqlTypeOf } from './column-types.ts';
export { deleteViewRows } from './delete-rows.ts';
export { type RebuildResult, rebuildStaleViewTables, rebuildViewTables } from './rebuild.ts';
export { recreateViewTable, staleViewTables, type ViewTable, viewTable } from './view-tables.ts';
export { viewTarget } from './view-target.ts';
