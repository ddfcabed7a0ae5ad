import { type ConnectionPool, sql } from '@databases/pg';
import { queryRows } from '../../loaders/postgres/query-rows.ts';

/**
 * The member registry (fhir_etl.members): who logged in to which source, and who must log in
 * again. Plain facts only; `fhir-etl auth list` and `fhir-etl status` read it without the key.
 */
export interface MemberRecord {
  source: string;
  patientId: string;
  /** The payer's member id (e.g. 01-testmemid), what `--member` names; null when not known. */
  memberId: string | null;
  needsLogin: boolean;
  loginError: string | null;
  loggedInAt: Date | null;
  refreshedAt: Date | null;
  accessExpiresAt: Date | null;
  hasRefreshToken: boolean;
  scope: string | null;
}

/** Every member of a source (or of every source), oldest login first. */
export async function listMembers(db: ConnectionPool, source?: string): Promise<MemberRecord[]> {
  const rows: Array<Record<string, unknown>> = await queryRows(
    db,
    sql`
    SELECT source, patient_id, member_label, needs_login, login_error, logged_in_at, refreshed_at,
           access_expires_at, has_refresh_token, scope
    FROM fhir_etl.members
    WHERE ${source === undefined ? sql`true` : sql`source = ${source}`}
    ORDER BY source, logged_in_at NULLS LAST, patient_id`,
  );
  return rows.map((row) => ({
    source: row.source as string,
    patientId: row.patient_id as string,
    memberId: row.member_label as string | null,
    needsLogin: row.needs_login as boolean,
    loginError: row.login_error as string | null,
    loggedInAt: row.logged_in_at as Date | null,
    refreshedAt: row.refreshed_at as Date | null,
    accessExpiresAt: row.access_expires_at as Date | null,
    hasRefreshToken: row.has_refresh_token as boolean,
    scope: row.scope as string | null,
  }));
}

/** The member must log in again before its data is read: runs skip it until then. */
export async function markNeedsLogin(
  db: ConnectionPool,
  member: { source: string; patientId: string },
  reason: string,
): Promise<void> {
  await db.query(sql`
    UPDATE fhir_etl.members SET needs_login = true, login_error = ${reason}
    WHERE source = ${member.source} AND patient_id = ${member.patientId}`);
}

/**
 * Forgets a member, named by member id (or, for a login whose member id is not known, by
 * patient id): its row, and with it (ON DELETE CASCADE) its sealed tokens. Checkpoints stay, so
 * a later login of the same member goes on incrementally.
 * @returns false when there was no such member
 */
export async function removeMember(
  db: ConnectionPool,
  target: { source: string } & ({ memberId: string } | { patientId: string }),
): Promise<boolean> {
  const which =
    'memberId' in target ? sql`member_label = ${target.memberId}` : sql`patient_id = ${target.patientId}`;
  const rows = await db.query(sql`
    DELETE FROM fhir_etl.members WHERE source = ${target.source} AND ${which} RETURNING patient_id`);
  return rows.length > 0;
}

/** The Patient id a member id logged in as, on a source (from its stored login). */
export async function patientIdOfMember(
  db: ConnectionPool,
  member: { source: string; memberId: string },
): Promise<string | undefined> {
  const [row]: Array<{ patient_id: string }> = await queryRows(
    db,
    sql`
    SELECT patient_id FROM fhir_etl.members WHERE source = ${member.source} AND member_label = ${member.memberId}
    ORDER BY logged_in_at DESC NULLS LAST LIMIT 1`,
  );
  return row?.patient_id;
}
