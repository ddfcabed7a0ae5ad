import type { ConnectionPool } from '@databases/pg';
import type { LoadedConfig } from '../config/index.ts';
import { ensureReadAccess, viewSchemasOf } from '../loaders/index.ts';

/**
 * The config's `warehouse.readers`, applied on every run before anything loads: a role
 * missing from the warehouse (or one too privileged to be a reader) stops the run there,
 * exit 2. Roles already granted as asked cost a query, no DDL.
 */
export async function grantConfiguredReaders(db: ConnectionPool, config: LoadedConfig): Promise<void> {
  if (config.warehouse.readers.length === 0) return;
  const schemas = await viewSchemasOf(db, config.warehouse.schema);
  for (const access of config.warehouse.readers) await ensureReadAccess(db, access, schemas);
}
