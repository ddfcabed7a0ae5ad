/**
 * Da Vinci member matching with a prior payer, the first step of a CMS-0057-F Payer-to-Payer
 * exchange: HRex MemberBundles, `$bulk-member-match` (async, read with the Bulk connector's
 * status and file steps) and its result Groups, `$member-match` for one member, and the
 * member-scoped token that follows a single match.
 *
 * @see Da Vinci PDex 2.2.0 payertopayerbulkexchange.md, payertopayerexchange.md
 */
export {
  type BulkMemberMatchRequest,
  type BulkMemberMatchStarted,
  bulkMemberMatchRequest,
  processBulkMemberMatchResponse,
  startBulkMemberMatch,
} from './bulk-member-match.ts';
export { capabilityOffersPatientExport, offersPatientExport } from './capability.ts';
export * from './errors.ts';
export {
  MATCH_PARAMETERS_EXTENSION,
  MATCH_RESULT_SYSTEM,
  type MatchGroupsReader,
  type MatchOutcome,
  matchGroupsReader,
  type MemberOutcome,
  type SubmittedPatient,
} from './match-groups.ts';
export type { ConsentPolicy, ExchangeMember, MemberConsent, PayerIdentity } from './member.ts';
export {
  CONSENT_POLICY_URI,
  HREX_PROFILE,
  type MatchRequester,
  memberBundle,
  memberParts,
  type ParametersParameter,
  submittedPatientId,
} from './member-bundle.ts';
export {
  memberMatch,
  memberMatchRequest,
  type MemberMatchResult,
  processMemberMatchResponse,
} from './member-match.ts';
export { patientScopedToken } from './patient-token.ts';
