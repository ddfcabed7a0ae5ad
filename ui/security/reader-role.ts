import { type ConnectionPool, sql } from '@databases/pg';
import { ConsoleRoleGrantsError, ConsoleRoleTooStrongError } from '../errors.ts';
import { queryRow } from '../../loaders/postgres/query-row.ts';

/**
 * The console reads through a read-only role, or not at all: a role that can read the sealed
 * member tokens (fhir_etl.credentials: the loader, a superuser) is refused before the console
 * listens, and so is one that lacks what the pages read.
 * @returns the role's name
 */
export async function checkReaderRole(db: ConnectionPool): Promise<string> {
  // By oid from the catalog: naming fhir_etl.credentials would itself fail without USAGE on fhir_etl.
  const role = await queryRow<{
    name: string;
    reads_credentials: boolean;
    reads_status: boolean;
    records_views: boolean;
  }>(
    db,
    sql`
    SELECT current_user AS name,
           coalesce((
             SELECT has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT')
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'fhir_etl' AND c.relname = 'credentials'), false) AS reads_credentials,
           coalesce((
             SELECT has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT')
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'fhir_etl_status' AND c.relname = 'runs'), false) AS reads_status,
           coalesce((
             SELECT has_schema_privilege(n.oid, 'USAGE') AND has_function_privilege(p.oid, 'EXECUTE')
             FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'fhir_etl_status' AND p.proname = 'record_member_view'), false) AS records_views`,
  );
  if (role.reads_credentials) throw new ConsoleRoleTooStrongError(role.name);
  const missing = [
    ...(role.reads_status ? [] : ['fhir_etl_status']),
    ...(role.records_views ? [] : ['EXECUTE on fhir_etl_status.record_member_view']),
  ];
  if (missing.length > 0) throw new ConsoleRoleGrantsError(role.name, missing);
  return role.name;
}
