import type { FastifyRequest } from 'fastify';
import type { SandboxContext } from './context.ts';
import { FhirRequestError } from './errors.ts';
import type { AccessToken, Grant } from './oauth/tokens.ts';

/**
 * The access token a FHIR request carries: 401 when missing, unknown or expired (with
 * WWW-Authenticate), 403 when it is the wrong kind of token for the endpoint.
 * @see RFC 6750 section 3.1
 */
export function requireToken(
  request: FastifyRequest,
  context: SandboxContext,
  kinds: ReadonlyArray<Grant['kind']>,
  refusal = 'this token may not be used here',
): AccessToken {
  const header = request.headers.authorization;
  if (!header?.toLowerCase().startsWith('bearer ')) {
    throw new FhirRequestError(401, 'login', 'a Bearer access token is required', {
      'www-authenticate': 'Bearer realm="fhir-etl-sandbox"',
    });
  }
  const token = context.tokens.access(header.slice(7).trim());
  if (!token) {
    throw new FhirRequestError(401, 'expired', 'the access token is unknown or expired', {
      'www-authenticate': 'Bearer realm="fhir-etl-sandbox", error="invalid_token"',
    });
  }
  if (!kinds.includes(token.grant.kind)) throw new FhirRequestError(403, 'forbidden', refusal);
  return token;
}
