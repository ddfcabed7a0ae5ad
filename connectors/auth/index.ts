/**
 * Machine-to-machine auth: token providers for client credentials (shared secret) and SMART
 * Backend Services (private_key_jwt), built from a source's config, plus the pieces any grant
 * reuses (token cache, token endpoint plumbing, SMART discovery).
 */
export { tokenProviderFor, noAuth } from './token-provider-for.ts';
export {
  clientCredentials,
  clientCredentialsToken,
  type ClientCredentialsOptions,
} from './client-credentials.ts';
export { backendServices, backendServicesToken, type BackendServicesOptions } from './backend-services.ts';
export { loadPrivateKey, type AssertionAlgorithm, type SigningKey } from './private-key.ts';
export {
  discoverSmartConfiguration,
  processSmartConfigurationResponse,
  smartConfigurationRequest,
  smartConfigurationUrl,
  type SmartConfiguration,
} from './smart-configuration.ts';
export { cachedTokenProvider, renewalTime, type IssuedToken, type TokenCacheOptions } from './token-cache.ts';
export {
  authorizationServer,
  isLoopback,
  issuedToken,
  tokenEndpointOptions,
  tokenRequestError,
} from './token-endpoint.ts';
export { AuthError, PrivateKeyError, SmartConfigurationError } from './errors.ts';
export type { AuthDependencies, TokenProvider } from './token-provider.ts';

// Member-authorized access (authorization code + PKCE, refresh): the REST connector's files.
export * from './authorization-code.ts';
export * from './authorization-code-callback.ts';
export * from './authorization-code-client.ts';
export * from './authorization-code-errors.ts';
export * from './authorization-code-tokens.ts';
export * from './refresh.ts';
export * from './refresh-token-provider.ts';
