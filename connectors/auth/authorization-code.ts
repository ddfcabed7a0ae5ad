import * as oauth from 'oauth4webapi';
import type { AuthorizationCodeClient } from './authorization-code-client.ts';
import {
  AuthorizationCallbackError,
  AuthorizationDeniedError,
  MissingPatientContextError,
} from './authorization-code-errors.ts';
import { type MemberTokens, memberTokensFrom } from './authorization-code-tokens.ts';
import { tokenRequestError } from './token-endpoint.ts';

/**
 * The SMART standalone launch, one protocol step per function: build the authorize URL,
 * check what comes back to the redirect URI, exchange the code, validate the tokens. Every
 * OAuth detail (PKCE, state, client authentication, response checks) is oauth4webapi's.
 * @see SMART App Launch 2.2.0 app-launch.html#step-2-launch-standalone
 */

/** What a login must remember between sending the member away and their coming back. */
export interface AuthorizationRequest {
  /** Where to send the member's browser. */
  url: URL;
  /** 256 random bits (SMART asks for at least 122), checked on the way back. */
  state: string;
  /** The PKCE secret; only its S256 challenge travels in the URL. */
  codeVerifier: string;
}

/**
 * The authorize URL: response_type=code, PKCE S256, state, `aud` = the FHIR base, the
 * configured scopes (offline_access for a refresh token), and `login_hint` when given.
 * @see SMART App Launch 2.2.0 app-launch.html#obtain-authorization-code
 * @see RFC 7636 section 4.3
 */
export async function buildAuthorizationRequest(
  client: AuthorizationCodeClient,
  options: { loginHint?: string } = {},
): Promise<AuthorizationRequest> {
  const codeVerifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(client.as.authorization_endpoint as string);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', client.client.client_id);
  url.searchParams.set('redirect_uri', client.redirectUri);
  url.searchParams.set('scope', client.scope);
  url.searchParams.set('state', state);
  url.searchParams.set('aud', client.audience);
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
  url.searchParams.set('code_challenge_method', 'S256');
  if (options.loginHint !== undefined) url.searchParams.set('login_hint', options.loginHint);
  return { url, state, codeVerifier };
}

/**
 * Checks the URL the member's browser was redirected to: the state must be this login's, and
 * it must carry a code, not an error. Pure: the network is not involved.
 * @see RFC 6749 section 4.1.2, SMART App Launch 2.2.0 app-launch.html#response-4
 */
export function processAuthorizationCallback(
  client: AuthorizationCodeClient,
  request: AuthorizationRequest,
  callbackUrl: URL,
): URLSearchParams {
  try {
    return oauth.validateAuthResponse(client.as, client.client, callbackUrl, request.state);
  } catch (error) {
    if (error instanceof oauth.AuthorizationResponseError) {
      throw new AuthorizationDeniedError(
        {
          authorizationEndpoint: client.as.authorization_endpoint as string,
          error: error.error,
          ...(error.error_description ? { description: error.error_description } : {}),
        },
        error,
      );
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new AuthorizationCallbackError(reason, { redirectUri: client.redirectUri }, error);
  }
}

/**
 * Sends the code back with the PKCE verifier; done at once, since 1up's codes live 5 minutes.
 * @see SMART App Launch 2.2.0 app-launch.html#step-3-app-exchanges-authorization-code-for-access-token
 */
export function authorizationCodeGrantRequest(
  client: AuthorizationCodeClient,
  request: AuthorizationRequest,
  callbackParameters: URLSearchParams,
): Promise<Response> {
  return oauth.authorizationCodeGrantRequest(
    client.as,
    client.client,
    client.clientAuth,
    callbackParameters,
    client.redirectUri,
    request.codeVerifier,
    client.requestOptions,
  );
}

/**
 * Validates the token response and keeps what a headless ETL needs: the access token, its
 * expiry, the refresh token (offline_access) and the member's patient id (launch/patient).
 * @see SMART App Launch 2.2.0 app-launch.html#response-5
 */
export async function processAuthorizationCodeResponse(
  client: AuthorizationCodeClient,
  response: Response,
  now: number = Date.now(),
): Promise<MemberTokens> {
  const tokenEndpoint = client.as.token_endpoint as string;
  let result: oauth.TokenEndpointResponse;
  try {
    result = await oauth.processAuthorizationCodeResponse(client.as, client.client, response);
  } catch (error) {
    throw tokenRequestError(error, tokenEndpoint);
  }
  const tokens = memberTokensFrom(result, now);
  if (tokens.patient === undefined)
    throw new MissingPatientContextError({ tokenEndpoint, scope: tokens.scope });
  return { ...tokens, patient: tokens.patient };
}
