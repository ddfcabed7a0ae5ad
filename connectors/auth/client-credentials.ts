import * as oauth from 'oauth4webapi';
import type { HttpClient } from '../http/index.ts';
import { cachedTokenProvider, type IssuedToken } from './token-cache.ts';
import { clientCredentialsGrant } from './token-endpoint.ts';
import type { AuthDependencies, TokenProvider } from './token-provider.ts';

export interface ClientCredentialsOptions {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** How the secret travels: form body (post) or HTTP Basic (basic). @see RFC 6749 section 2.3.1 */
  method: 'client_secret_post' | 'client_secret_basic';
  /** Sent verbatim: 1up's `bulk-data|user/*.rs` is not a SMART scope, and that is fine. */
  scope?: string;
  /** More form parameters, e.g. `patient=<member>` for a member-scoped send token. */
  extraParameters?: Record<string, string>;
}

/**
 * OAuth 2.0 client credentials with a shared secret, the vendor's usual machine-to-machine
 * grant: a cached token, renewed before expiry.
 *
 * @see RFC 6749 section 4.4 (client credentials grant)
 */
export function clientCredentials(options: ClientCredentialsOptions, deps: AuthDependencies): TokenProvider {
  return cachedTokenProvider(() => clientCredentialsToken(options, deps.http), { now: deps.now });
}

/**
 * One client credentials token request: sent by oauth4webapi (client authentication per
 * `method`, RFC 6749 2.3.1 encoding of the Basic credentials), then validated by it.
 *
 * @see RFC 6749 section 4.4.2 (access token request) and 5.1 (response)
 */
export async function clientCredentialsToken(
  options: ClientCredentialsOptions,
  http: HttpClient,
  signal?: AbortSignal,
): Promise<IssuedToken> {
  const authentication =
    options.method === 'client_secret_basic'
      ? oauth.ClientSecretBasic(options.clientSecret)
      : oauth.ClientSecretPost(options.clientSecret);
  const parameters = new URLSearchParams(options.extraParameters);
  if (options.scope !== undefined) parameters.set('scope', options.scope);
  return clientCredentialsGrant(
    { tokenUrl: options.tokenUrl, clientId: options.clientId, authentication, parameters },
    http,
    signal,
  );
}
