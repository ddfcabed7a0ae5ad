import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pgModule, { type ConnectionPool, sql } from '@databases/pg';
import { openWarehouse } from '../../loaders/index.ts';
import { migrationsDir } from '../../loaders/postgres/migrate.ts';
import { projectPath } from './project.ts';

/**
 * A migrated database for test files to clone (CREATE DATABASE ... TEMPLATE), one a server and
 * a version of the migrations: running all the migrations again for every test file cost each
 * file a second or two. warehouse.test.ts still migrates an empty database itself.
 *
 * The name holds a hash of the migrations (and of the code that applies them), so a changed
 * migration gets a template of its own and no file clones a stale schema. It is built under a
 * database's name of its own and renamed once complete, so a clone never copies half a schema;
 * an advisory lock makes the files of a run (and runs in other worktrees) build it once.
 */
const PREFIX = 'fhir_etl_test_template_';
/** Distinct from the application's advisory locks (loaders/postgres/migrate.ts and others). */
const BUILD_LOCK = 74_119_901;
/** Templates of older migrations are dropped once this old (a run of another branch may still use one). */
const STALE_MS = 24 * 60 * 60 * 1000;

let hashed: string | undefined;

/** The template's name for the migrations of this checkout. */
export function templateName(): string {
  hashed ??= migrationsHash();
  return `${PREFIX}${hashed}`;
}

function migrationsHash(): string {
  const hash = createHash('sha256');
  for (const name of readdirSync(migrationsDir).sort()) {
    hash
      .update(name)
      .update('\0')
      .update(readFileSync(join(migrationsDir, name)))
      .update('\0');
  }
  hash.update(readFileSync(projectPath('loaders', 'postgres', 'migrate.ts')));
  return hash.digest('hex').slice(0, 16);
}

/**
 * Builds the template on the server at `serverUrl` (`admin`: a pool on its default database)
 * unless it is there; returns its name.
 */
export async function ensureTemplate(admin: ConnectionPool, serverUrl: string): Promise<string> {
  const name = templateName();
  if (await exists(admin, name)) return name;
  await admin.task(async (connection) => {
    await connection.query(sql`SELECT pg_advisory_lock(${BUILD_LOCK})`);
    try {
      if (!(await exists(connection, name))) await build(connection, serverUrl, name);
    } finally {
      await connection.query(sql`SELECT pg_advisory_unlock(${BUILD_LOCK})`);
    }
  });
  return name;
}

/**
 * Creates database `name` as a copy of the template. From PostgreSQL 15 the copy is made with
 * STRATEGY FILE_COPY: the default there (WAL_LOG) writes every page of the template through
 * the WAL, about 0.3 s of server CPU a clone against 0.07 s for copying the files (and a
 * checkpoint), and a run of the suite clones a database for each of some 90 files, on each
 * server. PostgreSQL 13 and 14 know only the file copy, and not the clause.
 */
export async function cloneTemplate(admin: ConnectionPool, serverUrl: string, name: string): Promise<void> {
  const template = await ensureTemplate(admin, serverUrl);
  const [row]: Array<{ version: number }> = await admin.query(
    sql`SELECT current_setting('server_version_num')::int AS version`,
  );
  const strategy = (row?.version ?? 0) >= 150000 ? sql` STRATEGY FILE_COPY` : sql``;
  await admin.query(sql`CREATE DATABASE ${sql.ident(name)} TEMPLATE ${sql.ident(template)}${strategy}`);
}

async function build(admin: Pick<ConnectionPool, 'query'>, serverUrl: string, name: string): Promise<void> {
  await dropStale(admin);
  const building = `${name}_building`;
  // A build killed half way left this behind; nothing clones a name without the suffix.
  await admin.query(sql`DROP DATABASE IF EXISTS ${sql.ident(building)} WITH (FORCE)`);
  await admin.query(sql`CREATE DATABASE ${sql.ident(building)}`);
  const warehouse = await openWarehouse({ databaseUrl: withDatabase(serverUrl, building) });
  await warehouse.close();
  // The server refuses to rename a database that has connections; the pool's are closing.
  await admin.query(sql`
    SELECT pg_terminate_backend(pid, 60000) FROM pg_stat_activity WHERE datname = ${building}`);
  await admin.query(sql`ALTER DATABASE ${sql.ident(building)} RENAME TO ${sql.ident(name)}`);
  await admin.query(
    sql`COMMENT ON DATABASE ${sql.ident(name)} IS ${sql.__dangerous__rawValue(`'built ${new Date().toISOString()}'`)}`,
  );
}

/** Templates of other migrations, built over a day ago. */
async function dropStale(admin: Pick<ConnectionPool, 'query'>): Promise<void> {
  const templates: Array<{ name: string; comment: string | null }> = await admin.query(sql`
    SELECT datname AS name, shobj_description(oid, 'pg_database') AS comment
    FROM pg_database WHERE datname LIKE ${`${PREFIX}%`} AND datname NOT LIKE '%\_building'`);
  for (const template of templates) {
    const built = Date.parse(/^built (.+)$/.exec(template.comment ?? '')?.[1] ?? '');
    if (Number.isNaN(built) || Date.now() - built < STALE_MS) continue;
    await admin.query(sql`DROP DATABASE IF EXISTS ${sql.ident(template.name)}`).catch(() => undefined);
  }
}

async function exists(db: Pick<ConnectionPool, 'query'>, name: string): Promise<boolean> {
  const found = await db.query(sql`SELECT 1 FROM pg_database WHERE datname = ${name}`);
  return found.length > 0;
}

export function adminPool(url: string): ConnectionPool {
  return pgModule.default({ connectionString: url, bigIntMode: 'number', onError: () => undefined });
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
