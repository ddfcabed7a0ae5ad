import type { FastifyInstance } from 'fastify';
import { requireToken } from '../bearer.ts';
import type { SandboxContext } from '../context.ts';
import { demographics, patientId } from '../data/members.ts';
import { search } from '../payer/routes.ts';
import { FhirRequestError } from '../errors.ts';
import { evaluateConsent } from './consent.ts';
import { singleMember } from './data-export.ts';
import type { MemberFinder } from './matching.ts';
import { p2pRecord } from './record.ts';
import { type MatchedMember, type PdexState, P2P_BASE } from './state.ts';
import { singleSubmission } from './submission.ts';

/**
 * Single-member Payer-to-Payer: `POST Patient/$member-match` answers the member's identifier
 * (UMB) and Patient id when the member is matched and the consent can be honoured, else 422
 * with an OperationOutcome saying why (no match, several candidates, or the consent). A matched
 * member's data is then read with a member-scoped token: `GET [type]?patient=...` searches
 * (Patient/$export is in data-export.ts).
 * @see HRex OperationDefinition member-match; Da Vinci PDex 2.2.0 payertopayerexchange.md
 */
export function registerMemberMatch(
  app: FastifyInstance,
  context: SandboxContext,
  pdex: PdexState,
  finder: MemberFinder,
): void {
  app.post(`${P2P_BASE}/Patient/$member-match`, async (request) => {
    const token = requireToken(
      request,
      context,
      ['system'],
      '$member-match needs a client credentials token',
    );
    pdex.matchRequests.push(request.body);
    const submission = singleSubmission(request.body);
    const found = finder.find(submission.submitted);
    if (!found.matched) throw new FhirRequestError(422, 'not-found', `no unique member: ${found.reason}`);
    const consent = evaluateConsent(submission.consent, context.options.now());
    if (!consent.honoured)
      throw new FhirRequestError(
        422,
        'business-rule',
        `the consent request cannot be complied with: ${consent.reason}`,
      );
    const matches = pdex.singleMatches.get(token.grant.clientId) ?? new Map<number, MatchedMember>();
    matches.set(found.index, { index: found.index, policy: consent.policy, consentEnd: consent.end });
    pdex.singleMatches.set(token.grant.clientId, matches);
    return {
      resourceType: 'Parameters',
      parameter: [
        {
          name: 'MemberIdentifier',
          valueIdentifier: {
            type: {
              coding: [{ system: 'http://hl7.org/fhir/us/davinci-hrex/CodeSystem/hrex-temp', code: 'UMB' }],
            },
            system: 'https://sandbox.fhir-etl.local/member-id',
            value: demographics(context.dataset.seed, found.index).memberId,
          },
        },
        { name: 'MemberId', valueReference: { reference: `Patient/${patientId(found.index)}` } },
      ],
    };
  });

  app.get(`${P2P_BASE}/:type`, async (request) => {
    const token = requireToken(request, context, ['member'], 'searches need a member-scoped token');
    const member = singleMember(pdex, token);
    const { type } = request.params as { type: string };
    return search(context, token, type, new URL(request.url, context.urls.url), {
      base: `${context.urls.url}${P2P_BASE}`,
      recordOf: (index) => p2pRecord(context.dataset, index, context.dataset.step(), member.policy),
    });
  });
}
