import { FhirEtlError } from '../../errors/index.ts';

/**
 * Failures of the member-authorized (authorization code) flow and of refreshing its tokens.
 * Messages name the endpoint and the OAuth error the server gave; never a code, verifier or token.
 */

/** The authorization server redirected back with an error (the member declined, a bad scope, ...). */
export class AuthorizationDeniedError extends FhirEtlError {
  readonly oauthError: string;

  constructor(
    details: { authorizationEndpoint: string; error: string; description?: string },
    cause?: unknown,
  ) {
    const why = details.description ? ` (${details.description})` : '';
    super(
      `the authorization server ${details.authorizationEndpoint} refused the login: ${details.error}${why}`,
      {
        code: 'AUTHORIZATION_DENIED',
        context: details,
        cause,
      },
    );
    this.oauthError = details.error;
  }
}

/** The redirect back did not carry what this login sent (state) or what it needs (code). */
export class AuthorizationCallbackError extends FhirEtlError {
  constructor(reason: string, details: { redirectUri: string }, cause?: unknown) {
    super(`the authorization callback to ${details.redirectUri} was refused: ${reason}`, {
      code: 'AUTHORIZATION_CALLBACK_INVALID',
      context: details,
      cause,
    });
  }
}

/**
 * The member's grant is over: the refresh token was refused (invalid_grant: consent revoked,
 * expired, or rotated by someone else) or none was issued. Only a new login helps.
 * @see SMART App Launch 2.2.0 app-launch.html#step-7-refresh-access-token
 */
export class MemberLoginRequiredError extends FhirEtlError {
  constructor(details: { source: string; patientId: string; reason: string }, cause?: unknown) {
    super(
      `member ${details.patientId} of source ${details.source} must log in again ` +
        `(run \`fhir-etl auth login ${details.source}\`): ${details.reason}`,
      { code: 'MEMBER_LOGIN_REQUIRED', context: details, cause },
    );
  }
}

/** A login produced a token without the patient context a member-scoped read needs. */
export class MissingPatientContextError extends FhirEtlError {
  constructor(details: { tokenEndpoint: string; scope?: string }) {
    super(
      `the token from ${details.tokenEndpoint} names no patient: ask for the launch/patient scope ` +
        `(granted scope: ${details.scope ?? 'none given'})`,
      { code: 'MISSING_PATIENT_CONTEXT', context: details },
    );
  }
}
