import * as oauth from 'oauth4webapi';
import type { HttpClient } from '../http/index.ts';
import { type SmartConfiguration, discoverSmartConfiguration } from './smart-configuration.ts';
import { tokenEndpointOptions } from './token-endpoint.ts';
import { SmartConfigurationError } from './errors.ts';

/**
 * The client side of a member-authorized (authorization code) source, as oauth4webapi wants it:
 * the authorization server's endpoints, this client's id and authentication, and where the
 * server sends the member back. Built once per source and shared by login and refresh.
 */
export interface AuthorizationCodeClient {
  as: oauth.AuthorizationServer;
  client: oauth.Client;
  clientAuth: oauth.ClientAuth;
  redirectUri: string;
  scope: string;
  /** `aud`: the FHIR base URL the token is for. */
  audience: string;
  /**
   * Passed to every oauth4webapi token request: sent through the shared HttpClient (429 and 5xx
   * retried), plain http only to a loopback server (the sandbox).
   */
  requestOptions: oauth.HttpRequestOptions<'POST', URLSearchParams>;
}

/** The settings of a source's `auth:` block that the flow needs (config/schema.ts authorizationCodeAuth). */
export interface AuthorizationCodeSettings {
  clientId: string;
  clientSecret?: string;
  method: 'client_secret_post' | 'client_secret_basic';
  redirectUri: string;
  scope: string;
  audience?: string;
}

export interface AuthorizationEndpoints {
  authorizationEndpoint: string;
  tokenEndpoint: string;
  /** From SMART discovery when the server gives one; else the token endpoint's origin. */
  issuer?: string;
}

export function authorizationCodeClient(
  settings: AuthorizationCodeSettings,
  endpoints: AuthorizationEndpoints,
  fhirBaseUrl: string,
  http: HttpClient,
): AuthorizationCodeClient {
  return {
    as: {
      issuer: endpoints.issuer ?? new URL(endpoints.tokenEndpoint).origin,
      authorization_endpoint: endpoints.authorizationEndpoint,
      token_endpoint: endpoints.tokenEndpoint,
    },
    client: { client_id: settings.clientId },
    clientAuth: clientAuthentication(settings),
    redirectUri: settings.redirectUri,
    scope: settings.scope,
    audience: settings.audience ?? fhirBaseUrl,
    requestOptions: tokenEndpointOptions(endpoints.tokenEndpoint, http),
  };
}

/**
 * A public client (no secret) sends only its client_id; a confidential one authenticates with
 * its secret as configured. PKCE is used either way.
 * @see SMART App Launch 2.2.0 app-launch.html#step-3-app-exchanges-authorization-code-for-access-token
 */
function clientAuthentication(settings: AuthorizationCodeSettings): oauth.ClientAuth {
  if (settings.clientSecret === undefined) return oauth.None();
  return settings.method === 'client_secret_post'
    ? oauth.ClientSecretPost(settings.clientSecret)
    : oauth.ClientSecretBasic(settings.clientSecret);
}

/**
 * The authorize and token endpoints: as configured, else from the server's SMART configuration.
 * @see SMART App Launch 2.2.0 conformance.html#using-well-known
 */
export async function resolveAuthorizationEndpoints(
  settings: { authorizeUrl?: string; tokenUrl?: string },
  fhirBaseUrl: string,
  http: HttpClient,
): Promise<AuthorizationEndpoints> {
  if (settings.authorizeUrl !== undefined && settings.tokenUrl !== undefined) {
    return { authorizationEndpoint: settings.authorizeUrl, tokenEndpoint: settings.tokenUrl };
  }
  const discovered: SmartConfiguration = await discoverSmartConfiguration(fhirBaseUrl, http);
  const authorizationEndpoint = settings.authorizeUrl ?? discovered.authorization_endpoint;
  if (authorizationEndpoint === undefined) {
    throw new SmartConfigurationError(
      fhirBaseUrl,
      'has no authorization_endpoint: set auth.authorizeUrl in the config',
    );
  }
  const issuer = (discovered as { issuer?: unknown }).issuer;
  return {
    authorizationEndpoint,
    tokenEndpoint: settings.tokenUrl ?? discovered.token_endpoint,
    ...(typeof issuer === 'string' ? { issuer } : {}),
  };
}
