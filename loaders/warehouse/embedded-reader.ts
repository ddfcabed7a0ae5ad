import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WarehouseError } from '../errors.ts';

/**
 * The embedded server's read-only login for psql sessions and BI tools. Its privileges are
 * those of any reader (loaders/access): the view schema, `analytics`, `fhir_etl_status`, never
 * `fhir_etl`. Its password is generated once and kept beside the server's own, readable by
 * the owner of the home folder only.
 */
export const EMBEDDED_READER = 'fhir_reader';

interface ReaderState {
  role: string;
  password: string;
}

/** Superuser connection settings of the embedded server (its `postgres` database). */
export interface AdminConnection {
  host: string;
  port: number;
  user: string;
  password: string;
}

/**
 * Creates the reader's login role when the server lacks it, and gives it the kept password
 * (generated when there is none). Called with the server's file lock held.
 */
export async function ensureReaderLogin(home: string, admin: AdminConnection): Promise<void> {
  let state = await readReaderState(home);
  const generated = state === undefined;
  if (!state) {
    state = { role: EMBEDDED_READER, password: randomBytes(18).toString('base64url') };
    await writeFile(readerFile(home), JSON.stringify(state), { mode: 0o600 });
  }
  const { default: pg } = await import('pg');
  const client = new pg.Client({ ...admin, database: 'postgres' });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [state.role]);
    // The password is base64url (no quote can occur in it); CREATE ROLE takes no parameters.
    if (found.rowCount === 0)
      await client.query(`CREATE ROLE ${state.role} LOGIN PASSWORD '${state.password}'`);
    else if (generated) await client.query(`ALTER ROLE ${state.role} PASSWORD '${state.password}'`);
  } catch (cause) {
    throw new WarehouseError(
      `could not create the read-only role ${state.role} in the embedded PostgreSQL under ${home}`,
      { home },
      cause,
    );
  } finally {
    await client.end();
  }
}

/** The reader's role and password, or undefined before the server first started with it. */
export async function readReaderState(home: string): Promise<ReaderState | undefined> {
  try {
    return JSON.parse(await readFile(readerFile(home), 'utf8')) as ReaderState;
  } catch {
    return undefined;
  }
}

function readerFile(home: string): string {
  return join(home, 'postgres-reader.json');
}
