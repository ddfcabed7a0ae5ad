import type { BulkAuthConfig } from '../../config/index.ts';
import { type AuthDependencies, type TokenProvider, tokenProviderFor } from '../auth/index.ts';

/**
 * The token for one matched member's data: the source's client credentials (SMART Backend
 * Services or a client secret) asking for a member-scoped scope, naming the member's Patient
 * id (the $member-match MemberId) in a form parameter. The prior payer checks that the consent
 * still holds and issues a token bound to that Patient.
 *
 * PDex says the MemberId is "submitted to the Access Token Endpoint with a JWT where the subject
 * Id is the MemberMatch ID"; a client assertion's `sub` must stay the client id (RFC 7523
 * section 3, SMART Backend Services), so the member travels beside it, in `patientParameter`.
 *
 * @see Da Vinci PDex 2.2.0 payertopayerexchange.md ("Request Access Token for Member Access")
 */
export function patientScopedToken(
  auth: BulkAuthConfig,
  fhirBaseUrl: string,
  member: { patientId: string; scope: string; patientParameter: string },
  deps: AuthDependencies,
): TokenProvider | undefined {
  return tokenProviderFor(auth, fhirBaseUrl, deps, {
    scope: member.scope,
    extraParameters: { [member.patientParameter]: member.patientId },
  });
}
