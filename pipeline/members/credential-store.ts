import { type ConnectionPool, sql } from '@databases/pg';
import type { SqlQueryable } from '../../loaders/postgres/load-transaction.ts';
import type { Logger } from 'pino';
import { type MemberTokens, type MemberTokenStore } from '../../connectors/auth/index.ts';
import { FhirEtlError } from '../../errors/index.ts';
import { credentialIdentity, openCredential, sealCredential } from './credential-cipher.ts';
import { CredentialKeyMismatchError, CredentialUnreadableError, MemberNotLoggedInError } from './errors.ts';
import { markNeedsLogin } from './members.ts';
import type { SecretKey } from './secret-key.ts';
import { queryRows } from '../../loaders/postgres/query-rows.ts';

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
  member: MemberRef & { memberId?: string | undefined },
  tokens: MemberTokens,
): Promise<void> {
  await db.tx(async (tx) => {
    // member_label holds the member id (migration 041).
    await tx.query(sql`
      INSERT INTO fhir_etl.members (source, patient_id, member_label, needs_login, login_error, logged_in_at)
      VALUES (${member.source}, ${member.patientId}, ${member.memberId ?? null}, false, null, now())
      ON CONFLICT (source, patient_id) DO UPDATE SET
        member_label = COALESCE(EXCLUDED.member_label, fhir_etl.members.member_label),
        needs_login = false, login_error = null, logged_in_at = now()`);
    await writeTokens(tx, key, member, tokens);
  });
}

/**
 * The credential store of one member, for its TokenProvider. `logger` hears about a refresh
 * whose rotated tokens could not be saved (event `credentials.rotation_save_retried`, or
 * `credentials.rotation_lost` when even the retry failed).
 */
export function memberTokenStore(
  db: ConnectionPool,
  key: SecretKey,
  member: MemberRef,
  options: { logger?: Logger } = {},
): MemberTokenStore {
  const { logger } = options;
  return {
    async read() {
      const [row]: StoredCredential[] = await queryRows(
        db,
        sql`
        SELECT key_id, sealed FROM fhir_etl.credentials
        WHERE source = ${member.source} AND patient_id = ${member.patientId}`,
      );
      return unseal(key, member, row);
    },
    async renew(renew) {
      // Set once `renew` returned new tokens: from then on the server may have rotated the stored
      // refresh token out, and these are the only valid ones.
      let rotation: Rotation | undefined;
      try {
        return await db.tx(async (tx) => {
          // The row lock serialises refreshes of this member across processes and hosts; the
          // re-read under it sees a rotation another worker committed while we waited.
          const [row]: StoredCredential[] = await queryRows(
            tx,
            sql`
            SELECT key_id, sealed FROM fhir_etl.credentials
            WHERE source = ${member.source} AND patient_id = ${member.patientId}
            FOR UPDATE`,
          );
          const stored = unseal(key, member, row);
          const renewed = await renew(stored);
          if (renewed !== stored) {
            // unseal threw MemberNotLoggedInError if there was no row.
            rotation = { read: row!.sealed, written: seal(key, member, renewed), renewed };
            await saveRenewed(tx, key, member, rotation.written, renewed);
          }
          return renewed;
        });
      } catch (error) {
        if (rotation === undefined) throw error;
        return saveAgain(db, key, member, rotation, error, logger);
      }
    },
    loginRequired(reason) {
      return markNeedsLogin(db, member, reason);
    },
  };
}

/** A refresh's result: the sealed value it started from, the one it wrote, and the tokens. */
/** A member's row of fhir_etl.credentials: the sealed tokens and the key that sealed them. */
interface StoredCredential {
  key_id: string;
  sealed: Buffer;
}

interface Rotation {
  read: Buffer;
  written: Buffer;
  renewed: MemberTokens;
}

/**
 * The refresh succeeded but saving or committing its tokens failed (the connection dropped, a
 * commit refused): the server has probably rotated the stored refresh token out, so these tokens
 * are the member's only valid ones. Saves them in a fresh transaction, only if the stored value
 * is still the one the refresh started from (compare-and-set): a different one means another
 * worker saved its own tokens meanwhile (ours would overwrite a newer rotation), and the same
 * bytes as ours mean the first commit did go through. If that fails too, the error says the
 * member may have to log in again (unless the provider still honours the old refresh token).
 */
async function saveAgain(
  db: ConnectionPool,
  key: SecretKey,
  member: MemberRef,
  rotation: Rotation,
  error: unknown,
  logger: Logger | undefined,
): Promise<MemberTokens> {
  const context = { source: member.source, patientId: member.patientId };
  const firstError = (error as Error).message;
  logger?.warn(
    { event: 'credentials.rotation_save_retried', ...context, error: firstError },
    `saving the refreshed tokens of member ${member.patientId} of source ${member.source} failed ` +
      `(${firstError}); saving them again`,
  );
  let outcome: 'saved' | 'changed';
  try {
    const sealed = seal(key, member, rotation.renewed);
    outcome = await db.tx(async (tx) => {
      const [row]: Array<Pick<StoredCredential, 'sealed'>> = await queryRows(
        tx,
        sql`
        SELECT sealed FROM fhir_etl.credentials
        WHERE source = ${member.source} AND patient_id = ${member.patientId}
        FOR UPDATE`,
      );
      if (row?.sealed.equals(rotation.written)) return 'saved';
      if (!row?.sealed.equals(rotation.read)) return 'changed';
      await saveRenewed(tx, key, member, sealed, rotation.renewed);
      return 'saved';
    });
  } catch (retryError) {
    throw rotationLost(
      member,
      `${firstError}; saving again: ${(retryError as Error).message}`,
      logger,
      retryError,
    );
  }
  if (outcome === 'saved') return rotation.renewed;
  throw rotationLost(
    member,
    `${firstError}; the stored tokens changed meanwhile (another worker or login saved its own), so ours were not written over them`,
    logger,
    error,
  );
}

function rotationLost(member: MemberRef, why: string, logger: Logger | undefined, cause: unknown) {
  const lost = new CredentialRotationLostError(member, why, cause);
  logger?.error(
    { event: 'credentials.rotation_lost', source: member.source, patientId: member.patientId, error: why },
    lost.message,
  );
  return lost;
}

/**
 * A refresh rotated a member's refresh token and the new one could not be saved: the stored one
 * may be dead. The next refresh tells (invalid_grant: the member logs in again), unless the
 * provider honours a reused refresh token for a grace period.
 */
export class CredentialRotationLostError extends FhirEtlError {
  constructor(member: MemberRef, why: string, cause?: unknown) {
    super(
      `the refreshed tokens of member ${member.patientId} of source ${member.source} could not be saved (${why}); ` +
        'the stored refresh token may have been rotated out: if the next refresh is refused, ' +
        `run fhir-etl auth login ${member.source}`,
      { code: 'CREDENTIAL_ROTATION_LOST', context: { ...member }, cause },
    );
  }
}

async function saveRenewed(
  tx: SqlQueryable,
  key: SecretKey,
  member: MemberRef,
  sealed: Buffer,
  tokens: MemberTokens,
): Promise<void> {
  await writeSealed(tx, key, member, sealed, tokens);
  await tx.query(sql`
    UPDATE fhir_etl.members SET refreshed_at = now()
    WHERE source = ${member.source} AND patient_id = ${member.patientId}`);
}

async function writeTokens(
  db: SqlQueryable,
  key: SecretKey,
  member: MemberRef,
  tokens: MemberTokens,
): Promise<void> {
  await writeSealed(db, key, member, seal(key, member, tokens), tokens);
}

function seal(key: SecretKey, member: MemberRef, tokens: MemberTokens): Buffer {
  return sealCredential(key.key, JSON.stringify(tokens), credentialIdentity(member.source, member.patientId));
}

async function writeSealed(
  db: SqlQueryable,
  key: SecretKey,
  member: MemberRef,
  sealed: Buffer,
  tokens: MemberTokens,
): Promise<void> {
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

function unseal(key: SecretKey, member: MemberRef, row: StoredCredential | undefined): MemberTokens {
  if (!row) throw new MemberNotLoggedInError(member);
  if (row.key_id !== key.keyId) {
    throw new CredentialKeyMismatchError({ ...member, storedKeyId: row.key_id, currentKeyId: key.keyId });
  }
  try {
    return JSON.parse(
      openCredential(key.key, row.sealed, credentialIdentity(member.source, member.patientId)),
    ) as MemberTokens;
  } catch (cause) {
    throw new CredentialUnreadableError(member, cause);
  }
}
