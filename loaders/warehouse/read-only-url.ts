import { NoReaderUrlError } from '../access/errors.ts';
import { WarehouseError } from '../errors.ts';
import { maskPassword } from './connect.ts';
import { defaultHome, runningServer } from './embedded.ts';
import { readReaderState } from './embedded-reader.ts';

export interface ReadOnlyUrlOptions {
  /** The warehouse's URL (--database-url, DATABASE_URL, warehouse.url); undefined: the embedded server. */
  databaseUrl?: string | undefined;
  /** The config's `warehouse.readerUrl`: the read-only URL of a warehouse of the user's own. */
  readerUrl?: string | undefined;
  /** Where the embedded server lives (default `.fhir-etl` or FHIR_ETL_HOME). */
  home?: string;
}

/**
 * The URL BI tools, psql sessions and the web console read the warehouse with: a role that
 * reads the view tables, the marts and `fhir_etl_status`, never `fhir_etl`.
 * - The embedded server: its `fhir_reader` login (the server must be running).
 * - A warehouse of the user's own: `warehouse.readerUrl`, which names a login role the user
 *   created and granted with `fhir-etl db grant-read` (its password is theirs, not ours).
 * A readerUrl given for the embedded server is ignored: fhir-etl owns that server's roles.
 */
export async function readOnlyUrl(options: ReadOnlyUrlOptions = {}): Promise<string> {
  if (options.databaseUrl) {
    if (options.readerUrl) return options.readerUrl;
    throw new NoReaderUrlError(maskPassword(options.databaseUrl));
  }
  const home = options.home ?? defaultHome();
  const server = await runningServer(home);
  const reader = await readReaderState(home);
  if (!server || !reader) {
    throw new WarehouseError('embedded PostgreSQL is not running: start it with `fhir-etl db start`', {
      home,
    });
  }
  const url = new URL(server.url);
  url.username = reader.role;
  url.password = reader.password; // base64url: nothing to escape
  return url.toString();
}
