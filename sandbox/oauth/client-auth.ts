import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { OAuthError } from '../errors.ts';
import type { SandboxClient } from '../options.ts';
import type { TokenStore } from './tokens.ts';

/**
 * Client authentication at the token endpoint: client_secret_basic, client_secret_post,
 * SMART Backend Services private_key_jwt, or a public client naming itself by client_id.
 * @see RFC 6749 section 2.3.1; RFC 7523 section 3; SMART App Launch 2.2.0 client-confidential-asymmetric
 */

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const ASSERTION_ALGORITHMS = ['RS384', 'ES384'];
/** An assertion may not live longer than this. */
const MAX_ASSERTION_SECONDS = 300;
/** Clock skew tolerated on exp and iat. */
const SKEW_SECONDS = 60;

export interface ClientAuthContext {
  clients: ReadonlyMap<string, SandboxClient>;
  tokens: TokenStore;
  tokenUrl: string;
  now: () => number;
}

export async function authenticateClient(
  form: Record<string, string | undefined>,
  authorization: string | undefined,
  context: ClientAuthContext,
): Promise<SandboxClient> {
  if (authorization?.toLowerCase().startsWith('basic ')) return basic(authorization, context);
  if (form.client_assertion_type !== undefined || form.client_assertion !== undefined) {
    return privateKeyJwt(form, context);
  }
  const client = known(form.client_id, context);
  if (client.clientSecret !== undefined || client.jwks !== undefined) {
    if (form.client_secret === undefined)
      throw invalidClient('client authentication is required for this client');
    if (client.clientSecret === undefined || form.client_secret !== client.clientSecret) {
      throw invalidClient('client_secret does not match');
    }
  }
  return client;
}

function basic(authorization: string, context: ClientAuthContext): SandboxClient {
  const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw invalidClient('malformed Basic credentials');
  // RFC 6749 section 2.3.1: both parts are form-urlencoded before Base64.
  const clientId = decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
  const secret = decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' '));
  const client = known(clientId, context);
  if (client.clientSecret === undefined || client.clientSecret !== secret) {
    throw invalidClient('client_secret does not match');
  }
  return client;
}

/**
 * Verifies a client assertion: signature by the registered key with the header's kid, iss = sub =
 * client_id, aud = the token URL, exp no more than 5 minutes ahead, jti never seen before.
 * @see SMART App Launch 2.2.0 backend-services.html#authenticating-to-the-token-endpoint
 */
async function privateKeyJwt(form: Record<string, string | undefined>, context: ClientAuthContext) {
  if (form.client_assertion_type !== JWT_BEARER) {
    throw invalidClient(`client_assertion_type must be ${JWT_BEARER}`);
  }
  const assertion = form.client_assertion ?? '';
  let issuer: string | undefined;
  try {
    issuer = decodeJwt(assertion).iss;
  } catch {
    throw invalidClient('client_assertion is not a JWT');
  }
  const client = known(issuer ?? form.client_id, context);
  if (form.client_id !== undefined && form.client_id !== client.clientId) {
    throw invalidClient('client_id does not match the assertion issuer');
  }
  if (!client.jwks) throw invalidClient(`client ${client.clientId} has no registered JWKS`);
  const now = context.now();
  let payload;
  try {
    ({ payload } = await jwtVerify(assertion, createLocalJWKSet(client.jwks as never), {
      issuer: client.clientId,
      subject: client.clientId,
      audience: context.tokenUrl,
      algorithms: ASSERTION_ALGORITHMS,
      currentDate: new Date(now),
      clockTolerance: SKEW_SECONDS,
      requiredClaims: ['exp', 'jti'],
    }));
  } catch (error) {
    throw invalidClient(`client_assertion refused: ${(error as Error).message}`);
  }
  const exp = (payload.exp ?? 0) * 1000;
  if (exp > now + (MAX_ASSERTION_SECONDS + SKEW_SECONDS) * 1000) {
    throw invalidClient('client_assertion exp is more than 5 minutes in the future');
  }
  if (!context.tokens.useJti(client.clientId, String(payload.jti), exp)) {
    throw invalidClient('client_assertion jti was already used');
  }
  return client;
}

function known(clientId: string | undefined, context: ClientAuthContext): SandboxClient {
  const client = clientId === undefined ? undefined : context.clients.get(clientId);
  if (!client) throw invalidClient(`unknown client_id ${clientId ?? '(none)'}`);
  return client;
}

function invalidClient(description: string): OAuthError {
  return new OAuthError('invalid_client', description, 401);
}
