import { type ConnectionPool, sql } from '@databases/pg';

/**
 * What the console's read-only role needs beyond a reader's SELECTs, granted by the loader
 * when `fhir-etl ui` starts: recording member views (the audit function runs as the loader).
 * Only this role gets it, not every reader.
 */
export async function grantConsoleAudit(db: ConnectionPool, role: string): Promise<void> {
  await db.query(sql`
    GRANT EXECUTE ON FUNCTION fhir_etl_status.record_member_view(text, text, text, text, text)
    TO ${sql.ident(role)}`);
}

/** The login role a connection URL names (percent-decoded). */
export function roleOfUrl(url: string): string {
  return decodeURIComponent(new URL(url).username);
}
