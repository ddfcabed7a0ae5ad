import { userInfo } from 'node:os';
import pgModule, { type ConnectionPool, sql } from '@databases/pg';
import { WarehouseError } from '../errors.ts';
import { replacingDeadConnections } from '../postgres/dead-connections.ts';
import { withLoadConnections } from '../postgres/load-connections.ts';
import { migrate } from '../postgres/migrate.ts';
import { ensureReadAccess, viewSchemasOf } from '../access/grant-read.ts';
import { acquireEmbedded, defaultHome, type EmbeddedServer, releaseEmbedded } from './embedded.ts';
import { EMBEDDED_READER } from './embedded-reader.ts';
import { queryRows } from '../postgres/query-rows.ts';
import { queryRow } from '../postgres/query-row.ts';

/** An open warehouse: a connection pool, where it points, and how to let it go. */
export interface Warehouse {
  db: ConnectionPool;
  /** The connection URL with any password masked, safe to print. */
  displayUrl: string;
  embedded: boolean;
  close(): Promise<void>;
}

export interface WarehouseOptions {
  /** --database-url or DATABASE_URL; undefined starts (or joins) the embedded server. */
  databaseUrl?: string | undefined;
  /** Where the embedded server lives (default `.fhir-etl`). */
  home?: string;
  /** Apply pending migrations before returning (default true). */
  migrate?: boolean;
  poolSize?: number;
}

/** pg_type.oid of `date`. */
const DATE_TYPE_OID = 1082;

/** Connects to the configured PostgreSQL (13 or newer), or to the embedded one, and migrates it. */
export async function openWarehouse(options: WarehouseOptions = {}): Promise<Warehouse> {
  const home = options.home ?? defaultHome();
  const embedded = !options.databaseUrl;
  const server = embedded ? await acquireEmbedded(home) : undefined;
  const url = withDefaultUser(options.databaseUrl ?? (server as EmbeddedServer).url);
  const release = embedded ? () => releaseEmbedded(home) : () => Promise.resolve();
  const poolSize = options.poolSize ?? 6;
  const db = withLoadConnections(
    replacingDeadConnections(
      pgModule.default({
        connectionString: url,
        bigIntMode: 'number',
        // A `date` is a calendar date, read as its text (2023-12-01): the driver's default, a
        // Date at local midnight, is another day once printed in UTC east of Greenwich.
        types: { [DATE_TYPE_OID]: (text: string) => text },
        poolSize,
        // Connection failures are reported by checkReachable below; keep the library quiet.
        onError: () => undefined,
        onConnectionOpened: () => undefined,
        onConnectionClosed: () => undefined,
      }),
    ),
    url,
    poolSize,
  );
  identities.set(db, {
    displayUrl: maskPassword(url),
    home,
    ...(server === undefined ? {} : { dataDir: server.dataDir }),
  });
  try {
    await checkReachable(db, url);
    if (options.migrate !== false) {
      await migrate(db);
      if (embedded) await grantEmbeddedReader(db);
    }
  } catch (error) {
    await db.dispose().catch(() => undefined);
    await release();
    throw error;
  }
  return {
    db,
    displayUrl: maskPassword(url),
    embedded,
    async close() {
      await db.dispose();
      await release();
    },
  };
}

/**
 * The embedded server's `fhir_reader` reads what any reader reads: granted once the schemas
 * exist (after migrating), on the default view schema and those view tables were built in.
 */
export async function grantEmbeddedReader(db: ConnectionPool): Promise<void> {
  // fhir_raw once given stays given (`fhir-etl ui` gives it for the raw FHIR views): a run
  // opening the warehouse must not revoke it from a console that is reading.
  const [recorded]: Array<{ raw: boolean }> = await queryRows(
    db,
    sql`SELECT raw FROM fhir_etl.readers WHERE role = ${EMBEDDED_READER}`,
  );
  await ensureReadAccess(
    db,
    { role: EMBEDDED_READER, raw: recorded?.raw === true },
    await viewSchemasOf(db, 'fhir'),
  );
}

/**
 * What a pool opened by openWarehouse points at, for messages that name the server, and the
 * home folder of this machine's state (where a run's error is kept when the warehouse cannot
 * take it).
 */
export interface WarehouseIdentity {
  /** The connection URL, password masked. */
  displayUrl: string;
  /** `.fhir-etl` or FHIR_ETL_HOME. */
  home: string;
  /** The embedded server's data folder (undefined for a server of the user's own). */
  dataDir?: string;
}

const identities = new WeakMap<ConnectionPool, WarehouseIdentity>();

/** The identity of a pool openWarehouse opened; undefined for any other pool. */
export function warehouseIdentity(db: ConnectionPool): WarehouseIdentity | undefined {
  return identities.get(db);
}

async function checkReachable(db: ConnectionPool, url: string): Promise<void> {
  let version: number;
  try {
    const row = await queryRow<{ version: number }>(
      db,
      sql`SELECT current_setting('server_version_num')::int AS version`,
    );
    version = row.version;
  } catch (cause) {
    throw new WarehouseError(
      `cannot connect to PostgreSQL at ${maskPassword(url)}: ${(cause as Error).message}`,
      { url: maskPassword(url) },
      cause,
    );
  }
  if (version < 130000) {
    throw new WarehouseError(`PostgreSQL 13 or newer is required; ${maskPassword(url)} runs ${version}`, {
      url: maskPassword(url),
      version,
    });
  }
}

/** Like libpq (and psql): a URL without a user name connects as $PGUSER, else the OS user. */
export function withDefaultUser(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username || parsed.searchParams.has('user')) return url;
    parsed.username = process.env.PGUSER ?? userInfo().username;
    return parsed.toString();
  } catch {
    return url;
  }
}

/** Connection parameters that are secrets wherever they appear in a URL's query. */
const SECRET_PARAMETERS = ['password', 'sslpassword', 'sslkey', 'passfile'];

/**
 * postgres://user:secret@host/db?password=x -> postgres://user:***@host/db?password=*** :
 * safe to print. libpq and @databases/pg accept the password in the query string too.
 */
export function maskPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    for (const name of SECRET_PARAMETERS)
      if (parsed.searchParams.has(name)) parsed.searchParams.set(name, '***');
    return parsed.toString().replaceAll('%2A%2A%2A', '***');
  } catch {
    // Not a URL: a libpq keyword string (host=... password=...) or something mangled.
    return url
      .replace(/:[^:@/]*@/, ':***@')
      .replace(new RegExp(`\\b(${SECRET_PARAMETERS.join('|')})\\s*=\\s*('[^']*'|\\S+)`, 'gi'), '$1=***');
  }
}
