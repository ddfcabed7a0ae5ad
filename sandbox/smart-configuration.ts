import type { FastifyInstance } from 'fastify';
import { PAYER_BASE, PROVIDER_BASE, type SandboxContext } from './context.ts';

/**
 * `.well-known/smart-configuration` under both FHIR bases.
 * @see SMART App Launch 2.2.0 conformance.html#using-well-known
 */
export function registerSmartConfiguration(app: FastifyInstance, context: SandboxContext): void {
  for (const base of [PROVIDER_BASE, PAYER_BASE]) {
    app.get(`${base}/.well-known/smart-configuration`, async () => smartConfiguration(context));
  }
}

export function smartConfiguration(context: SandboxContext) {
  return {
    issuer: context.urls.url,
    token_endpoint: context.urls.tokenUrl,
    authorization_endpoint: context.urls.authorizeUrl,
    grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic', 'private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
    code_challenge_methods_supported: ['S256'],
    response_types_supported: ['code'],
    scopes_supported: [
      'system/*.rs',
      'bulk-data|user/*.rs',
      'launch/patient',
      'openid',
      'fhirUser',
      'offline_access',
      'patient/*.rs',
      'patient/*.c',
    ],
    capabilities: [
      'launch-standalone',
      'client-public',
      'client-confidential-symmetric',
      'client-confidential-asymmetric',
      'context-standalone-patient',
      'permission-offline',
      'permission-patient',
      'permission-v2',
    ],
  };
}
