import { type ConnectionPool, sql } from '@databases/pg';
import type { SqlQueryable } from '../postgres/load-transaction.ts';
import { ReaderRoleError } from './errors.ts';
import { queryRows } from '../postgres/query-rows.ts';

/**
 * Read-only access for SQL analysts and BI tools: a role reads the view tables, the
 * `analytics` marts and the reader-safe pipeline views in `fhir_etl_status` (and, when asked,
 * the raw resources in `fhir_raw`), and never `fhir_etl`, which holds member tokens, client
 * secrets and export status URLs.
 *
 * Privileges are given three ways, so that no DDL the tool runs later loses them: USAGE on
 * each schema, SELECT on every table and view in it now, and default privileges of the
 * loader's role in it, which cover every table and view it creates there later (a rebuilt
 * view table, a new mart). Each granted role is recorded in `fhir_etl.readers`, so a command
 * that creates a view schema grants it there too (keepReadersGranted).
 */
export interface ReadAccess {
  role: string;
  /** Also `fhir_raw` (whole FHIR resources as loaded). */
  raw: boolean;
}

/** The schemas every reader reads besides the view schemas. */
export const READER_SCHEMAS = ['analytics', 'fhir_etl_status'] as const;

const RAW_SCHEMA = 'fhir_raw';
const CONTROL_SCHEMA = 'fhir_etl';

/** Concurrent GRANTs on one object can fail ("tuple concurrently updated"): one at a time. */
const READ_ACCESS_LOCK = 74_110_025;

/**
 * `fhir-etl db grant-read ROLE` and the config's `warehouse.readers`: grants `role` read
 * access to the view schemas, `analytics` and `fhir_etl_status` (and `fhir_raw` when
 * `access.raw`; a role granted it before and not now loses it), and records the role.
 * @returns the schemas the role reads
 */
export async function grantRead(
  db: ConnectionPool,
  access: ReadAccess,
  viewSchemas: readonly string[],
): Promise<string[]> {
  for (const schema of viewSchemas) {
    if (schema === CONTROL_SCHEMA || schema === RAW_SCHEMA) throw ReaderRoleError.viewSchema(schema);
  }
  return db.tx(async (tx) => {
    await tx.query(sql`SELECT pg_advisory_xact_lock(${READ_ACCESS_LOCK})`);
    await assertReaderRole(tx, access.role);
    for (const schema of viewSchemas) await tx.query(sql`CREATE SCHEMA IF NOT EXISTS ${sql.ident(schema)}`);
    const schemas = readableSchemas(access, viewSchemas);
    await applyGrants(tx, access, schemas);
    await tx.query(sql`
      INSERT INTO fhir_etl.readers (role, raw) VALUES (${access.role}, ${access.raw})
      ON CONFLICT (role) DO UPDATE SET raw = EXCLUDED.raw, granted_at = now()`);
    return schemas;
  });
}

/**
 * grantRead, unless the role is recorded as asked and lacks nothing: the config's readers are
 * applied on every run, and most runs then change no privilege at all (no DDL).
 */
export async function ensureReadAccess(
  db: ConnectionPool,
  access: ReadAccess,
  viewSchemas: readonly string[],
): Promise<void> {
  const [recorded]: Array<{ raw: boolean }> = await queryRows(
    db,
    sql`
    SELECT r.raw FROM fhir_etl.readers r JOIN pg_roles p ON p.rolname = r.role WHERE r.role = ${access.role}`,
  );
  if (recorded?.raw === access.raw) {
    const schemas = await existingSchemas(db, readableSchemas(access, viewSchemas));
    if (
      schemas.length === readableSchemas(access, viewSchemas).length &&
      !(await lacksReadAccess(db, access.role, schemas))
    )
      return;
  }
  await grantRead(db, access, viewSchemas);
}

/**
 * Every recorded reader (that still exists) gets what it lacks on these view schemas, the
 * marts' and the status schema: called after a command created view tables, so a view schema
 * new to the warehouse is readable at once. Does nothing (no DDL) when nothing is missing.
 */
export async function keepReadersGranted(db: ConnectionPool, viewSchemas: readonly string[]): Promise<void> {
  const readers: ReadAccess[] = await queryRows(
    db,
    sql`
    SELECT r.role, r.raw FROM fhir_etl.readers r JOIN pg_roles p ON p.rolname = r.role ORDER BY r.role`,
  );
  const lacking: Array<{ access: ReadAccess; schemas: string[] }> = [];
  for (const access of readers) {
    const schemas = await existingSchemas(db, readableSchemas(access, viewSchemas));
    if (await lacksReadAccess(db, access.role, schemas)) lacking.push({ access, schemas });
  }
  if (lacking.length === 0) return;
  await db.tx(async (tx) => {
    await tx.query(sql`SELECT pg_advisory_xact_lock(${READ_ACCESS_LOCK})`);
    for (const { access, schemas } of lacking) await applyGrants(tx, access, schemas);
  });
}

/** The view schemas of this warehouse: the configured one and those its view tables were built in. */
export async function viewSchemasOf(db: SqlQueryable, configured: string | undefined): Promise<string[]> {
  const rows: Array<{ table_schema: string }> = await queryRows(
    db,
    sql`SELECT DISTINCT table_schema FROM fhir_etl.views ORDER BY table_schema`,
  );
  const schemas = new Set(rows.map((row) => row.table_schema));
  if (configured) schemas.add(configured);
  return [...schemas];
}

function readableSchemas(access: ReadAccess, viewSchemas: readonly string[]): string[] {
  return [...new Set([...viewSchemas, ...READER_SCHEMAS, ...(access.raw ? [RAW_SCHEMA] : [])])];
}

/**
 * A reader must be a role of its own: a superuser, the loader's role or a role that inherits
 * the loader's privileges reads fhir_etl's secrets whatever we grant.
 */
async function assertReaderRole(tx: SqlQueryable, role: string): Promise<void> {
  const [found]: Array<{ superuser: boolean; loader: boolean; inherits: boolean; loader_role: string }> =
    await queryRows(
      tx,
      sql`
      SELECT rolsuper AS superuser, rolname = current_user AS loader,
             pg_has_role(oid, current_user::regrole, 'USAGE') AS inherits, current_user AS loader_role
      FROM pg_roles WHERE rolname = ${role}`,
    );
  if (!found) throw ReaderRoleError.missing(role);
  if (found.loader) throw ReaderRoleError.privileged(role, 'is the loader’s own role');
  if (found.superuser) throw ReaderRoleError.privileged(role, 'is a superuser');
  if (found.inherits)
    throw ReaderRoleError.privileged(role, `is a member of the loader’s role ${found.loader_role}`);
}

async function applyGrants(tx: SqlQueryable, access: ReadAccess, schemas: readonly string[]): Promise<void> {
  const role = sql.ident(access.role);
  for (const name of schemas) {
    const schema = sql.ident(name);
    await tx.query(sql`GRANT USAGE ON SCHEMA ${schema} TO ${role}`);
    await tx.query(sql`GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${role}`);
    await tx.query(sql`ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT SELECT ON TABLES TO ${role}`);
  }
  if (!access.raw && !schemas.includes(RAW_SCHEMA)) {
    const schema = sql.ident(RAW_SCHEMA);
    await tx.query(sql`REVOKE USAGE ON SCHEMA ${schema} FROM ${role}`);
    await tx.query(sql`REVOKE SELECT ON ALL TABLES IN SCHEMA ${schema} FROM ${role}`);
    await tx.query(sql`ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} REVOKE SELECT ON TABLES FROM ${role}`);
  }
}

async function existingSchemas(db: ConnectionPool, schemas: readonly string[]): Promise<string[]> {
  const rows: Array<{ nspname: string }> = await queryRows(
    db,
    sql`SELECT nspname FROM pg_namespace WHERE nspname = ANY(${[...schemas]}::text[])`,
  );
  const present = new Set(rows.map((row) => row.nspname));
  return schemas.filter((schema) => present.has(schema));
}

/** Whether the role lacks USAGE on a schema, SELECT on a table or view, or a default privilege. */
async function lacksReadAccess(
  db: ConnectionPool,
  role: string,
  schemas: readonly string[],
): Promise<boolean> {
  const [row]: Array<{ lacking: boolean }> = await queryRows(
    db,
    sql`
    WITH s AS (SELECT n.oid, n.nspname FROM pg_namespace n WHERE n.nspname = ANY(${[...schemas]}::text[]))
    SELECT
      EXISTS (SELECT 1 FROM s WHERE NOT has_schema_privilege(${role}, s.oid, 'USAGE'))
      OR EXISTS (
        SELECT 1 FROM pg_class c JOIN s ON s.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT has_table_privilege(${role}, c.oid, 'SELECT'))
      OR EXISTS (
        SELECT 1 FROM s WHERE NOT EXISTS (
          SELECT 1 FROM pg_default_acl d
          WHERE d.defaclnamespace = s.oid AND d.defaclrole = current_user::regrole AND d.defaclobjtype = 'r'
            AND aclcontains(d.defaclacl, makeaclitem(${role}::regrole, current_user::regrole, 'SELECT', false))))
      AS lacking`,
  );
  return row?.lacking === true;
}
