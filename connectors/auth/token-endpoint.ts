import * as oauth from 'oauth4webapi';
import {
  AbortError,
  discardBody,
  type HttpClient,
  HttpError,
  HttpNetworkError,
  isRedirectStatus,
  redactUrl,
  redirectTarget,
} from '../http/index.ts';
import { AuthError } from './errors.ts';
import type { IssuedToken } from './token-cache.ts';

/**
 * What every grant shares when it talks to a token endpoint through oauth4webapi: the server
 * description, the transport (our HttpClient, so 429 and 5xx get the same retries as any other
 * request), the https-only rule, and the translation of failures into AuthError.
 */

/** oauth4webapi's view of the authorization server: we only ever need its token endpoint. */
export function authorizationServer(tokenUrl: string): oauth.AuthorizationServer {
  // No grant here validates an issuer (no ID token); the origin stands in for one.
  return { issuer: new URL(tokenUrl).origin, token_endpoint: tokenUrl };
}

/**
 * oauth4webapi request options for a token endpoint. Requests go through `http`. Plain http
 * is allowed only to a loopback host (the local sandbox, tests): a production token URL must
 * be https, as oauth4webapi insists by default.
 */
export function tokenEndpointOptions(
  tokenUrl: string,
  http: HttpClient,
  signal?: AbortSignal,
): oauth.HttpRequestOptions<'POST', URLSearchParams> {
  return {
    signal,
    [oauth.customFetch]: async (url, options) => {
      const headers = { ...options.headers };
      // Our User-Agent (fhir-etl/<version>) instead of the library's.
      delete headers['user-agent'];
      const response = await http.request(url, {
        method: options.method,
        headers,
        body: options.body,
        signal: options.signal,
        // 'manual', as oauth4webapi asks: the body holds the client secret, the assertion, the
        // refresh token or the code and its verifier, which a followed 307/308 would send again
        // to wherever Location points (even plain http).
        redirect: options.redirect,
        // oauth4webapi reads the OAuth error body of a 4xx itself; 429 and 5xx stay ours to retry.
        accept: OAUTH_ERROR_STATUSES,
        // A token request changes nothing on the server, so a 5xx or a lost answer is safe to
        // repeat although it is a POST. (A server that records a failed attempt's assertion jti
        // refuses the replay with invalid_client; the next token() call then signs a fresh one.)
        retryServerErrors: true,
        idempotent: true,
      });
      if (isRedirectStatus(response.status)) throw await redirectRefused(tokenUrl, response);
      return response;
    },
    ...(isLoopback(tokenUrl) ? { [oauth.allowInsecureRequests]: true } : {}),
  };
}

/**
 * A token endpoint that redirects is misconfigured (or not the token endpoint): fail naming
 * both URLs, so the fix (the final URL as auth.tokenUrl) is obvious. Nothing was sent there.
 */
async function redirectRefused(tokenUrl: string, response: Response): Promise<AuthError> {
  const url = redactUrl(tokenUrl);
  const location = redirectTarget(response, tokenUrl);
  await discardBody(response);
  const to = location === undefined ? '' : ` to ${location}`;
  return new AuthError(
    `token endpoint ${url} answered ${response.status} redirecting${to}; a token request is never ` +
      'redirected, since it carries credentials: configure the final token URL',
    { tokenUrl: url, status: response.status },
  );
}

const OAUTH_ERROR_STATUSES = Array.from({ length: 100 }, (_, i) => 400 + i).filter(
  (status) => status !== 429,
);
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Whether the URL's host is this machine (127.0.0.1, localhost, ::1). */
export function isLoopback(url: string | URL): boolean {
  return LOOPBACK_HOSTS.has(new URL(url).hostname);
}

/** The token and its lifetime from a processed token response. */
export function issuedToken(response: oauth.TokenEndpointResponse): IssuedToken {
  return {
    accessToken: response.access_token,
    expiresIn: response.expires_in,
    ...(typeof response.patient === 'string' ? { patient: response.patient } : {}),
  };
}

/**
 * The error to throw for a failed token request: an AuthError naming the token URL and the
 * server's OAuth error, or the abort as is. oauth4webapi's own errors are not attached whole:
 * some carry the response body, which may hold an access token.
 *
 * @see RFC 6749 section 5.2
 */
export function tokenRequestError(error: unknown, tokenUrl: string): unknown {
  if (error instanceof AbortError || error instanceof AuthError) return error;
  const url = redactUrl(tokenUrl);
  if (error instanceof oauth.ResponseBodyError) {
    return refused(url, error.status, error.error, error.error_description, error.cause);
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    const challenge = error.cause[0]?.parameters;
    return refused(url, error.status, challenge?.error ?? 'unauthorized', challenge?.error_description);
  }
  if (error instanceof HttpError || error instanceof HttpNetworkError) {
    return new AuthError(`token request to ${url} failed: ${error.message}`, { tokenUrl: url }, error);
  }
  const reason = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error ? new Error(`${error.name}: ${error.message}`) : undefined;
  return new AuthError(`token request to ${url} failed: ${reason}`, { tokenUrl: url }, cause);
}

function refused(
  tokenUrl: string,
  status: number,
  error: string,
  errorDescription: string | undefined,
  cause?: unknown,
): AuthError {
  const description = errorDescription ? ` (${errorDescription})` : '';
  return new AuthError(
    `token endpoint ${tokenUrl} refused the request with ${status} ${error}${description}`,
    { tokenUrl, status, error, errorDescription },
    cause,
  );
}

/**
 * One client credentials grant, however the client authenticates (a shared secret, or a
 * signed assertion): sent by oauth4webapi, validated by it, errors named by token URL.
 *
 * @see RFC 6749 section 4.4.2 (access token request) and 5.1 (response)
 */
export async function clientCredentialsGrant(
  request: {
    tokenUrl: string;
    clientId: string;
    authentication: oauth.ClientAuth;
    parameters: URLSearchParams;
  },
  http: HttpClient,
  signal?: AbortSignal,
): Promise<IssuedToken> {
  const as = authorizationServer(request.tokenUrl);
  const client: oauth.Client = { client_id: request.clientId };
  try {
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      request.authentication,
      request.parameters,
      tokenEndpointOptions(request.tokenUrl, http, signal),
    );
    return issuedToken(await oauth.processClientCredentialsResponse(as, client, response));
  } catch (error) {
    throw tokenRequestError(error, request.tokenUrl);
  }
}
