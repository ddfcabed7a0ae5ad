import { createHash } from 'node:crypto';
import type { PayerExchangeSourceConfig } from '../../config/index.ts';
import {
  type ExchangeMember,
  type MatchRequester,
  memberParts,
  type ParametersParameter,
  submittedPatientId,
} from '../../connectors/member-match/index.ts';

/**
 * A member ready to be sent: their request parts, the Patient.id they are submitted under, and
 * a digest of what is sent (a member whose row changed is matched again).
 */
export interface Submittable {
  member: ExchangeMember;
  submittedId: string;
  parts: ParametersParameter[];
  digest: string;
}

export function requesterOf(source: PayerExchangeSourceConfig): MatchRequester {
  return {
    payer: source.requestingPayer,
    consentDocument: (memberId) =>
      source.consentDocument.replaceAll('{member}', encodeURIComponent(memberId)),
  };
}

export function submittable(source: PayerExchangeSourceConfig, member: ExchangeMember): Submittable {
  const submittedId = submittedPatientId(source.name, member.memberId);
  const parts = memberParts(member, submittedId, requesterOf(source));
  return { member, submittedId, parts, digest: digestOf([JSON.stringify(parts)]) };
}

/** What a whole bulk match sends, as one digest: the same members with the same rows give the same digest. */
export function submissionDigest(submittables: Submittable[]): string {
  return digestOf(submittables.map((s) => s.digest).sort());
}

/**
 * Whether a member's consent is in effect on `today` (YYYY-MM-DD): only then is the member
 * matched and pulled. P2P is opt-in; PDex re-evaluates the consent at every export.
 * @see Da Vinci PDex 2.2.0 payertopayerexchange.md (Evaluation of Consent)
 */
export function consentInEffect(member: ExchangeMember, today: string): boolean {
  return member.consent.start <= today && today <= member.consent.end;
}

/**
 * Why a known member may not be pulled today: gone from the member input, or a consent not in
 * effect; undefined when they may.
 */
export function pullStopReason(member: ExchangeMember | undefined, today: string): string | undefined {
  if (member === undefined) return 'no longer in the member input';
  if (member.consent.end < today) return `consent ended ${member.consent.end}`;
  if (member.consent.start > today) return `consent starts ${member.consent.start}`;
  return undefined;
}

/** YYYY-MM-DD of an instant, in UTC. */
export function isoDate(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

function digestOf(parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\n');
  return hash.digest('hex').slice(0, 32);
}
