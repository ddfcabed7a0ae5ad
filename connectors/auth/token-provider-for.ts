import type { BulkAuthConfig } from '../../config/index.ts';
import { backendServices } from './backend-services.ts';
import { clientCredentials } from './client-credentials.ts';
import type { AuthDependencies, TokenProvider } from './token-provider.ts';

/**
 * The token provider a source's `auth` config asks for, or undefined for `type: none` (its
 * requests carry no Authorization header). `request` asks for another scope, and adds form
 * parameters (a member-scoped token names its member, e.g. PDex Payer-to-Payer).
 */
export function tokenProviderFor(
  auth: BulkAuthConfig,
  fhirBaseUrl: string,
  deps: AuthDependencies,
  request: { scope?: string; extraParameters?: Record<string, string> } = {},
): TokenProvider | undefined {
  switch (auth.type) {
    case 'none':
      return noAuth();
    case 'client_credentials':
      return clientCredentials(
        {
          tokenUrl: auth.tokenUrl,
          clientId: auth.clientId,
          clientSecret: auth.clientSecret,
          method: auth.method,
          scope: request.scope ?? auth.scope,
          ...(request.extraParameters ? { extraParameters: request.extraParameters } : {}),
        },
        deps,
      );
    case 'backend_services':
      return backendServices(
        {
          tokenUrl: auth.tokenUrl,
          fhirBaseUrl,
          clientId: auth.clientId,
          privateKeyFile: auth.privateKeyFile,
          kid: auth.kid,
          algorithm: auth.algorithm,
          scope: request.scope ?? auth.scope,
          ...(request.extraParameters ? { extraParameters: request.extraParameters } : {}),
        },
        deps,
      );
  }
}

/** `auth: { type: none }`: an open server (or a local sandbox); no token is obtained or sent. */
export function noAuth(): undefined {
  return undefined;
}
