import { type ConnectionPool, type Queryable, sql } from '@databases/pg';
import { type MemberTokens, type MemberTokenStore } from '../../connectors/auth/index.ts';
import { credentialIdentity, openCredential, sealCredential } from './credential-cipher.ts';
import { CredentialKeyMismatchError, CredentialUnreadableError, MemberNotLoggedInError } from './errors.ts';
import { markNeedsLogin } from './members.ts';
import type { SecretKey } from './secret-key.ts';

/**
 * Member tokens at rest: sealed (AES-256-GCM) in fhir_etl.credentials, one row per member,
 * beside the member's plain facts in fhir_etl.members. The tokens exist in clear only in memory.
 */
export interface MemberRef {
  source: string;
  patientId: string;
}

/**
 * Saves a login: the member row (a renewed login clears needs_login) and its sealed tokens,
 * in one transaction.
 */
export async function saveLogin(
  db: ConnectionPool,
  key: SecretKey,
  member: MemberRef & { label?: string },
  tokens: MemberTokens,
): Promise<void> {
  await db.tx(async (tx) => {
    await tx.query(sql`
      INSERT INTO fhir_etl.members (source, patient_id, member_label, needs_login, login_error, logged_in_at)
      VALUES (${member.source}, ${member.patientId}, ${member.label ?? null}, false, null, now())
      ON CONFLICT (source, patient_id) DO UPDATE SET
        member_label = COALESCE(EXCLUDED.member_label, fhir_etl.members.member_label),
        needs_login = false, login_error = null, logged_in_at = now()`);
    await writeTokens(tx, key, member, tokens);
  });
}

/** The credential store of one member, for its TokenProvider. */
export function memberTokenStore(db: ConnectionPool, key: SecretKey, member: MemberRef): MemberTokenStore {
  return {
    async read() {
      const [row] = await db.query(sql`
        SELECT key_id, sealed FROM fhir_etl.credentials
        WHERE source = ${member.source} AND patient_id = ${member.patientId}`);
      return unseal(key, member, row);
    },
    renew(renew) {
      return db.tx(async (tx) => {
        // The row lock serialises refreshes of this member across processes and hosts; the
        // re-read under it sees a rotation another worker committed while we waited.
        const [row] = await tx.query(sql`
          SELECT key_id, sealed FROM fhir_etl.credentials
          WHERE source = ${member.source} AND patient_id = ${member.patientId}
          FOR UPDATE`);
        const stored = unseal(key, member, row);
        const renewed = await renew(stored);
        if (renewed !== stored) {
          await writeTokens(tx, key, member, renewed);
          await tx.query(sql`
            UPDATE fhir_etl.members SET refreshed_at = now()
            WHERE source = ${member.source} AND patient_id = ${member.patientId}`);
        }
        return renewed;
      });
    },
    loginRequired(reason) {
      return markNeedsLogin(db, member, reason);
    },
  };
}

async function writeTokens(
  db: Queryable,
  key: SecretKey,
  member: MemberRef,
  tokens: MemberTokens,
): Promise<void> {
  const sealed = sealCredential(
    key.key,
    JSON.stringify(tokens),
    credentialIdentity(member.source, member.patientId),
  );
  await db.query(sql`
    INSERT INTO fhir_etl.credentials (source, patient_id, key_id, sealed, updated_at)
    VALUES (${member.source}, ${member.patientId}, ${key.keyId}, ${sealed}, now())
    ON CONFLICT (source, patient_id) DO UPDATE SET
      key_id = EXCLUDED.key_id, sealed = EXCLUDED.sealed, updated_at = now()`);
  await db.query(sql`
    UPDATE fhir_etl.members SET
      scope = ${tokens.scope ?? null},
      access_expires_at = ${tokens.expiresAt === undefined ? null : new Date(tokens.expiresAt)},
      has_refresh_token = ${tokens.refreshToken !== undefined}
    WHERE source = ${member.source} AND patient_id = ${member.patientId}`);
}

function unseal(
  key: SecretKey,
  member: MemberRef,
  row: { key_id: string; sealed: Buffer } | undefined,
): MemberTokens {
  if (!row) throw new MemberNotLoggedInError(member);
  if (row.key_id !== key.keyId) {
    throw new CredentialKeyMismatchError({ ...member, storedKeyId: row.key_id, currentKeyId: key.keyId });
  }
  try {
    return JSON.parse(
      openCredential(key.key, row.sealed, credentialIdentity(member.source, member.patientId)),
    );
  } catch (cause) {
    throw new CredentialUnreadableError(member, cause);
  }
}
