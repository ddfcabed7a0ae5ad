import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireToken } from '../bearer.ts';
import { createJob, type ExportJob } from '../bulk/jobs.ts';
import { parametersOf, parseKickOff } from '../bulk/kick-off.ts';
import { pollStatus } from '../bulk/routes.ts';
import type { SandboxContext } from '../context.ts';
import { memberIndexOf } from '../data/members.ts';
import { FhirRequestError, operationOutcome } from '../errors.ts';
import type { AccessToken } from '../oauth/tokens.ts';
import { liveGroup } from './bulk-member-match.ts';
import { consentInEffect } from './consent.ts';
import { p2pRecord } from './record.ts';
import { type MatchedMember, type PdexState, P2P_BASE } from './state.ts';

/**
 * Payer-to-Payer data export:
 * - `POST Group/{id}/$davinci-data-export` with exportType #payertopayer on a MatchedMembers
 *   Group: its members whose consent is still in effect (re-checked at every export), narrowed
 *   by `patient`; `_since` and date-of-service `_typeFilter` as for any export (400 for a filter
 *   the server cannot apply);
 * - `Patient/$export` with a member-scoped token (single-member exchange): that member only.
 * Both serve the Payer-to-Payer view of the record (Basis EOBs, labelled or withheld sensitive data).
 * @see Da Vinci PDex 2.2.0 payertopayerbulkexchange.md (DaVinci-Data-Export Operation), payertopayerexchange.md
 */
export const PAYER_TO_PAYER = 'hl7.fhir.us.davinci-pdex#payertopayer';

export function registerDataExport(app: FastifyInstance, context: SandboxContext, pdex: PdexState): void {
  app.post(`${P2P_BASE}/Group/:id/$davinci-data-export`, async (request, reply) => {
    const token = requireToken(
      request,
      context,
      ['system'],
      'a Group export needs a client credentials token',
    );
    requireAsync(request);
    const group = liveGroup(context, pdex, (request.params as { id: string }).id, token.grant.clientId);
    const params = parseKickOff(kickOffParameters(context, request), {
      post: true,
      operation: '$davinci-data-export',
    });
    if (params.exportType !== PAYER_TO_PAYER)
      throw new FhirRequestError(
        400,
        'invalid',
        `a member match Group exports with exportType ${PAYER_TO_PAYER}`,
      );
    const now = context.options.now();
    const members = new Map(
      group.members.filter((m) => consentInEffect(m.consentEnd, now)).map((m) => [m.index, m]),
    );
    const chosen = params.patientIds && new Set([...params.patientIds].map(memberIndexOf));
    const job = createJob(
      context,
      params,
      `${context.urls.url}${request.url}`,
      (index) => members.has(index) && (!chosen || chosen.has(index)),
      { recordOf: (index, step) => p2pRecord(context.dataset, index, step, members.get(index)?.policy) },
    );
    return accepted(context, reply, job);
  });

  for (const method of ['GET', 'POST'] as const) {
    app.route({
      method,
      url: `${P2P_BASE}/Patient/$export`,
      handler: async (request, reply) => {
        const token = requireToken(
          request,
          context,
          ['member'],
          'Patient/$export needs a member-scoped token',
        );
        if (!pdex.settings.patientExport)
          throw new FhirRequestError(404, 'not-supported', 'this server does not offer Patient/$export');
        requireAsync(request);
        const member = singleMember(pdex, token);
        const params = parseKickOff(kickOffParameters(context, request), {
          post: method === 'POST',
          operation: '$export',
        });
        const chosen = params.patientIds && new Set([...params.patientIds].map(memberIndexOf));
        const job = createJob(
          context,
          params,
          `${context.urls.url}${request.url}`,
          (index) => index === member.index && (!chosen || chosen.has(index)),
          {
            recordOf: (index, step) => p2pRecord(context.dataset, index, step, member.policy),
            tokenKinds: ['member'],
          },
        );
        return accepted(context, reply, job);
      },
    });
  }

  app.get(`${P2P_BASE}/bulkstatus/:jobId`, async (request, reply) => {
    requireToken(request, context, ['system', 'member']);
    const job = liveJob(context, (request.params as { jobId: string }).jobId);
    if (pdex.exportsHeld) {
      return reply
        .code(202)
        .header('x-progress', 'held by the test')
        .header('retry-after', String(context.options.retryAfterSeconds))
        .send();
    }
    return pollStatus(context, job, reply);
  });

  app.delete(`${P2P_BASE}/bulkstatus/:jobId`, async (request, reply) => {
    requireToken(request, context, ['system', 'member']);
    liveJob(context, (request.params as { jobId: string }).jobId).cancelled = true;
    return reply.code(202).send(operationOutcome('informational', 'export cancelled', 'information'));
  });
}

/** The member a member-scoped token was issued for, as $member-match matched them. */
export function singleMember(pdex: PdexState, token: AccessToken): MatchedMember {
  const grant = token.grant;
  const member =
    grant.kind === 'member' ? pdex.singleMatches.get(grant.clientId)?.get(grant.patientIndex) : undefined;
  if (!member) throw new FhirRequestError(403, 'forbidden', 'this token is not scoped to a matched member');
  return member;
}

function kickOffParameters(context: SandboxContext, request: FastifyRequest): Array<[string, string]> {
  return [
    ...new URL(request.url, context.urls.url).searchParams,
    ...(request.method === 'POST' ? parametersOf(request.body) : []),
  ];
}

function requireAsync(request: FastifyRequest): void {
  if (!/\brespond-async\b/.test(String(request.headers.prefer ?? '')))
    throw new FhirRequestError(400, 'invalid', 'kick-off requires the header Prefer: respond-async');
}

function accepted(context: SandboxContext, reply: FastifyReply, job: ExportJob) {
  return reply
    .code(202)
    .header('content-location', `${context.urls.url}${P2P_BASE}/bulkstatus/${job.id}`)
    .send(operationOutcome('informational', `export ${job.id} accepted`, 'information'));
}

function liveJob(context: SandboxContext, id: string): ExportJob {
  const job = context.jobs.get(id);
  if (!job || job.cancelled) throw new FhirRequestError(404, 'not-found', `no export job ${id}`);
  return job;
}
