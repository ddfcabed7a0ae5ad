import * as oauth from 'oauth4webapi';
import type { HttpClient } from '../http/index.ts';
import { type AssertionAlgorithm, loadPrivateKey, type SigningKey } from './private-key.ts';
import { discoverSmartConfiguration } from './smart-configuration.ts';
import { cachedTokenProvider, type IssuedToken } from './token-cache.ts';
import { clientCredentialsGrant } from './token-endpoint.ts';
import type { AuthDependencies, TokenProvider } from './token-provider.ts';

export interface BackendServicesOptions {
  /** Omitted: discovered from `${fhirBaseUrl}/.well-known/smart-configuration`. */
  tokenUrl?: string;
  fhirBaseUrl: string;
  clientId: string;
  /** A PEM (PKCS#8) or JWKS file holding the private key whose public half the server has. */
  privateKeyFile: string;
  kid?: string;
  algorithm: AssertionAlgorithm;
  scope: string;
  /** More form parameters, e.g. `patient=<member>` for a member-scoped token (PDex Payer-to-Payer). */
  extraParameters?: Record<string, string>;
}

/**
 * SMART Backend Services: a client credentials grant authenticated by a signed JWT assertion
 * (private_key_jwt) instead of a secret. No refresh token is issued; a new token is minted
 * whenever the cached one nears expiry. The key is read, and the token URL discovered, on the
 * first token request; a failure there is retried on the next.
 *
 * @see SMART App Launch 2.2.0 backend-services.html
 */
export function backendServices(options: BackendServicesOptions, deps: AuthDependencies): TokenProvider {
  let prepared: Promise<{ tokenUrl: string; signingKey: SigningKey }> | undefined;
  const prepare = () => {
    prepared ??= prepareBackendServices(options, deps.http).catch((error: unknown) => {
      prepared = undefined;
      throw error;
    });
    return prepared;
  };
  return cachedTokenProvider(
    async () => {
      const { tokenUrl, signingKey } = await prepare();
      return backendServicesToken({ ...options, tokenUrl }, signingKey, deps.http);
    },
    { now: deps.now },
  );
}

async function prepareBackendServices(
  options: BackendServicesOptions,
  http: HttpClient,
): Promise<{ tokenUrl: string; signingKey: SigningKey }> {
  const signingKey = await loadPrivateKey(options.privateKeyFile, {
    algorithm: options.algorithm,
    kid: options.kid,
  });
  const tokenUrl =
    options.tokenUrl ?? (await discoverSmartConfiguration(options.fhirBaseUrl, http)).token_endpoint;
  return { tokenUrl, signingKey };
}

/**
 * One Backend Services token request. oauth4webapi builds and signs the assertion (iss = sub =
 * client_id, a fresh random jti, exp 60 s ahead: within SMART's 5-minute maximum, header kid);
 * we set what SMART fixes differently from its defaults: aud is the token URL, typ is JWT.
 * `scope` is always sent, as SMART requires.
 *
 * @see SMART App Launch 2.2.0 client-confidential-asymmetric.html#authenticating-to-the-token-endpoint
 * @see SMART App Launch 2.2.0 backend-services.html#request
 */
export async function backendServicesToken(
  options: { tokenUrl: string; clientId: string; scope: string; extraParameters?: Record<string, string> },
  signingKey: SigningKey,
  http: HttpClient,
  signal?: AbortSignal,
): Promise<IssuedToken> {
  const authentication = oauth.PrivateKeyJwt(signingKey, {
    [oauth.modifyAssertion]: (header, payload) => {
      header.typ = 'JWT';
      payload.aud = options.tokenUrl;
    },
  });
  return clientCredentialsGrant(
    {
      tokenUrl: options.tokenUrl,
      clientId: options.clientId,
      authentication,
      parameters: new URLSearchParams({ ...options.extraParameters, scope: options.scope }),
    },
    http,
    signal,
  );
}
