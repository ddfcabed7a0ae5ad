import * as oauth from 'oauth4webapi';
import type { AuthorizationCodeClient } from './authorization-code-client.ts';
import { type MemberTokens, memberTokensFrom } from './authorization-code-tokens.ts';
import { redactUrl } from '../http/index.ts';
import { AuthError } from './errors.ts';
import { tokenRequestError } from './token-endpoint.ts';

/**
 * Refreshing a member's access token, as two protocol steps: one sends, one validates.
 * @see SMART App Launch 2.2.0 app-launch.html#step-7-refresh-access-token
 * @see RFC 6749 section 6
 */

/**
 * How long a refresh may take, retries included (30 s). The caller holds the member's row lock
 * meanwhile, so a token endpoint that hangs must not hold it (and every other worker) forever.
 */
export const REFRESH_TIMEOUT_MS = 30_000;

/** Aborts once `ms` have passed: the refresh's deadline. Injected for tests. */
export type RefreshDeadline = (ms: number) => AbortSignal;

/**
 * POST grant_type=refresh_token with the client's authentication, given up after `timeoutMs`
 * (default REFRESH_TIMEOUT_MS; `deadline` measures it, a timer by default) or when `signal` aborts.
 */
export function refreshTokenGrantRequest(
  client: AuthorizationCodeClient,
  refreshToken: string,
  options: { timeoutMs?: number; signal?: AbortSignal; deadline?: RefreshDeadline } = {},
): Promise<Response> {
  const timeoutMs = options.timeoutMs ?? REFRESH_TIMEOUT_MS;
  const timeout = (options.deadline ?? AbortSignal.timeout)(timeoutMs);
  const tokenUrl = client.as.token_endpoint as string;
  const given = client.requestOptions.signal;
  const signals = [timeout, typeof given === 'function' ? given(tokenUrl) : given, options.signal].filter(
    (s): s is AbortSignal => s !== undefined,
  );
  return oauth
    .refreshTokenGrantRequest(client.as, client.client, client.clientAuth, refreshToken, {
      ...client.requestOptions,
      signal: signals.length === 1 ? timeout : AbortSignal.any(signals),
    })
    .catch((error: unknown) => {
      if (!timeout.aborted || options.signal?.aborted) throw error;
      throw new AuthError(
        `refreshing the access token at ${redactUrl(tokenUrl)} took longer than ${timeoutMs / 1000} s; gave up`,
        { tokenUrl: redactUrl(tokenUrl) },
        error,
      );
    });
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
