import type { BulkAuthConfig } from '../../config/index.ts';
import { backendServices } from './backend-services.ts';
import { clientCredentials } from './client-credentials.ts';
import type { AuthDependencies, TokenProvider } from './token-provider.ts';

/**
 * The token provider a source's `auth` config asks for, or undefined for `type: none` (its
 * requests carry no Authorization header).
 */
export function tokenProviderFor(
  auth: BulkAuthConfig,
  fhirBaseUrl: string,
  deps: AuthDependencies,
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
          scope: auth.scope,
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
          scope: auth.scope,
        },
        deps,
      );
  }
}

/** `auth: { type: none }`: an open server (or a local sandbox); no token is obtained or sent. */
export function noAuth(): undefined {
  return undefined;
}
