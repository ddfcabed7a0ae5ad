import { FhirEtlError } from '../../errors/index.ts';

/**
 * What can go wrong with member logins and their stored tokens. Messages name the source and
 * the member, never a token.
 */

/** The key that seals stored tokens is missing or unusable. */
export class SecretKeyError extends FhirEtlError {
  constructor(message: string, context: Record<string, unknown>, cause?: unknown) {
    super(message, { code: 'SECRET_KEY_INVALID', context, cause, kind: 'input' });
  }
}

/** A member's tokens were sealed with another key than the one configured now. */
export class CredentialKeyMismatchError extends FhirEtlError {
  constructor(details: { source: string; patientId: string; storedKeyId: string; currentKeyId: string }) {
    super(
      `the tokens of member ${details.patientId} of source ${details.source} were sealed with key ` +
        `${details.storedKeyId}, but the configured key is ${details.currentKeyId}: restore that key ` +
        `(secrets.keyEnv / secrets.keyFile) or run \`fhir-etl auth login ${details.source}\` again`,
      { code: 'CREDENTIAL_KEY_MISMATCH', context: details },
    );
  }
}

/** A sealed credential failed authentication (tampered with, or copied to another member's row). */
export class CredentialUnreadableError extends FhirEtlError {
  constructor(details: { source: string; patientId: string }, cause: unknown) {
    super(
      `the stored tokens of member ${details.patientId} of source ${details.source} cannot be decrypted ` +
        `(altered or moved between members): run \`fhir-etl auth login ${details.source}\` again`,
      { code: 'CREDENTIAL_UNREADABLE', context: details, cause },
    );
  }
}

/** No stored login for this member (never logged in, or logged out). */
export class MemberNotLoggedInError extends FhirEtlError {
  constructor(details: { source: string; patientId: string }) {
    super(
      `member ${details.patientId} of source ${details.source} has no stored login: ` +
        `run \`fhir-etl auth login ${details.source}\``,
      { code: 'MEMBER_NOT_LOGGED_IN', context: details },
    );
  }
}
