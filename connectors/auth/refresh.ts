import * as oauth from 'oauth4webapi';
import type { AuthorizationCodeClient } from './authorization-code-client.ts';
import { type MemberTokens, memberTokensFrom } from './authorization-code-tokens.ts';
import { tokenRequestError } from './token-endpoint.ts';

/**
 * Refreshing a member's access token, as two protocol steps: one sends, one validates.
 * @see SMART App Launch 2.2.0 app-launch.html#step-7-refresh-access-token
 * @see RFC 6749 section 6
 */

/** POST grant_type=refresh_token with the client's authentication. */
export function refreshTokenGrantRequest(
  client: AuthorizationCodeClient,
  refreshToken: string,
): Promise<Response> {
  return oauth.refreshTokenGrantRequest(
    client.as,
    client.client,
    client.clientAuth,
    refreshToken,
    client.requestOptions,
  );
}

/**
 * The renewed tokens. A new refresh token replaces the old one (rotation: the old one is dead
 * from now on, so the caller must store this result before anything else uses it); without
 * one, the old refresh token stays valid. The patient context carries over.
 */
export async function processRefreshTokenResponse(
  client: AuthorizationCodeClient,
  response: Response,
  previous: MemberTokens,
  now: number = Date.now(),
): Promise<MemberTokens> {
  let result: oauth.TokenEndpointResponse;
  try {
    result = await oauth.processRefreshTokenResponse(client.as, client.client, response);
  } catch (error) {
    throw tokenRequestError(error, client.as.token_endpoint as string);
  }
  return { ...memberTokensFrom(result, now, previous), patient: previous.patient };
}
