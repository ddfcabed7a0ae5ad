import { patientId } from '../data/members.ts';
import { PAYER_ID, PAYER_NAME } from '../data/shared.ts';
import { instant } from '../data/time.ts';
import type { SandboxContext } from '../context.ts';
import { evaluateConsent } from './consent.ts';
import type { MemberFinder } from './matching.ts';
import type { MatchedMember, PdexState } from './state.ts';
import type { Submission } from './submission.ts';

/**
 * A bulk member match decided: every submitted member lands in exactly one of the three result
 * Groups, each containing the submitted Patients verbatim for correlation. The MatchedMembers
 * Group is kept (its id is what $davinci-data-export is asked for) until it expires.
 * @see Da Vinci PDex 2.2.0 ProfilePDexMemberMatchGroup.fsh (pdex-member-match-group, pdex-member-no-match-group)
 */

const RESULT_SYSTEM = 'http://hl7.org/fhir/us/davinci-pdex/CodeSystem/PdexMultiMemberMatchResultCS';
const MATCH_PARAMETERS = 'http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/base-ext-match-parameters';
const PROFILE = 'http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/';

type Bucket = 'match' | 'nomatch' | 'consentconstraint';

interface Decided {
  bucket: Bucket;
  submission: Submission;
  member?: MatchedMember;
}

/** The result Groups of one match, by file name; the MatchedMembers Group is registered in `pdex.groups`. */
export function decideMatch(
  context: SandboxContext,
  pdex: PdexState,
  finder: MemberFinder,
  submissions: Submission[],
  clientId: string,
): Array<{ name: string; group: Record<string, unknown> }> {
  const now = context.options.now();
  const decided = submissions.map((submission): Decided => {
    const found = finder.find(submission.submitted);
    if (!found.matched) return { bucket: 'nomatch', submission };
    const consent = evaluateConsent(submission.consent, now);
    if (!consent.honoured) return { bucket: 'consentconstraint', submission };
    return {
      bucket: 'match',
      submission,
      member: { index: found.index, policy: consent.policy, consentEnd: consent.end },
    };
  });
  const id = `p2p-match-${++pdex.counter}`;
  const requester = requesterIdentifier(submissions);
  const group = (bucket: Bucket, groupId: string) =>
    resultGroup(
      bucket,
      groupId,
      decided.filter((d) => d.bucket === bucket),
      requester,
      now,
    );
  const matched = decided.flatMap((d) => (d.member ? [d.member] : []));
  const resource = group('match', id);
  pdex.groups.set(id, { id, clientId, createdAt: now, members: matched, resource });
  const files = [{ name: 'MatchedMembers.ndjson', group: resource }];
  if (decided.some((d) => d.bucket === 'nomatch'))
    files.push({ name: 'NonMatchedMembers.ndjson', group: group('nomatch', `${id}-nomatch`) });
  if (decided.some((d) => d.bucket === 'consentconstraint'))
    files.push({
      name: 'ConsentConstrainedMembers.ndjson',
      group: group('consentconstraint', `${id}-consent`),
    });
  return files;
}

function resultGroup(
  bucket: Bucket,
  id: string,
  members: Decided[],
  requester: Record<string, unknown> | undefined,
  now: number,
): Record<string, unknown> {
  const code = { coding: [{ system: RESULT_SYSTEM, code: bucket }] };
  const contained = members.map((d, n) => ({ ...d.submission.patient, id: containedId(d, n) }));
  return {
    resourceType: 'Group',
    id,
    meta: {
      lastUpdated: instant(now),
      profile: [`${PROFILE}${bucket === 'match' ? 'pdex-member-match-group' : 'pdex-member-no-match-group'}`],
    },
    contained,
    type: 'person',
    actual: true,
    code,
    quantity: members.length,
    managingEntity: { reference: `Organization/${PAYER_ID}`, display: PAYER_NAME },
    ...(bucket === 'match'
      ? {
          characteristic: [
            {
              code,
              ...(requester ? { valueReference: { identifier: requester } } : {}),
              exclude: false,
              period: { start: instant(now) },
            },
          ],
        }
      : {}),
    member: members.map((d, n) => {
      const submitted = `#${containedId(d, n)}`;
      const reference = d.member ? `Patient/${patientId(d.member.index)}` : submitted;
      return {
        entity: {
          reference,
          extension: [{ url: MATCH_PARAMETERS, valueReference: { reference: submitted } }],
        },
      };
    }),
  };
}

/** The submitted Patient's own id when it has one (kept verbatim), else a local one. */
function containedId(decided: Decided, n: number): string {
  const id = decided.submission.patient.id;
  return typeof id === 'string' && id !== '' ? id : `submitted-${n + 1}`;
}

/** The requesting payer, as the consents name it (actor IRCP). */
function requesterIdentifier(submissions: Submission[]): Record<string, unknown> | undefined {
  for (const s of submissions) {
    const actors =
      (s.consent?.provision as { actor?: Array<Record<string, unknown>> } | undefined)?.actor ?? [];
    for (const actor of actors) {
      const ircp = (actor.role as { coding?: Array<{ code?: string }> } | undefined)?.coding?.some(
        (c) => c.code === 'IRCP',
      );
      const identifier = (actor.reference as { identifier?: Record<string, unknown> } | undefined)
        ?.identifier;
      if (ircp && identifier) return identifier;
    }
  }
  return undefined;
}
