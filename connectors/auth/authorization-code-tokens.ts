import type * as oauth from 'oauth4webapi';

/**
 * A member's tokens as a login or a refresh leaves them: what is sealed in the credential
 * store. Secrets all: never logged, never stored unencrypted.
 */
export interface MemberTokens {
  accessToken: string;
  /** Absent when the server issued none (no offline_access): the login ends with the access token. */
  refreshToken?: string;
  /** When the access token expires (epoch ms); absent when the server did not say. */
  expiresAt?: number;
  scope?: string;
  /** The FHIR Patient id of the member (the token response's `patient`). */
  patient: string;
}

/**
 * The tokens a token response grants. A refresh response may omit the refresh token (no
 * rotation) and the patient: the previous ones still hold.
 * @see SMART App Launch 2.2.0 app-launch.html#step-7-refresh-access-token
 */
export function memberTokensFrom(
  response: oauth.TokenEndpointResponse,
  now: number,
  previous?: MemberTokens,
): Omit<MemberTokens, 'patient'> & { patient?: string } {
  const patient = typeof response.patient === 'string' ? response.patient : previous?.patient;
  const refreshToken = response.refresh_token ?? previous?.refreshToken;
  return {
    accessToken: response.access_token,
    ...(refreshToken === undefined ? {} : { refreshToken }),
    ...(response.expires_in === undefined ? {} : { expiresAt: now + response.expires_in * 1000 }),
    ...((response.scope ?? previous?.scope) === undefined
      ? {}
      : { scope: response.scope ?? previous?.scope }),
    ...(patient === undefined ? {} : { patient }),
  };
}
