import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireToken } from '../bearer.ts';
import type { SandboxContext } from '../context.ts';
import { instant } from '../data/time.ts';
import { FhirRequestError, operationOutcome } from '../errors.ts';
import { decideMatch } from './match-groups.ts';
import type { MemberFinder } from './matching.ts';
import { type MatchGroup, type PdexState, P2P_BASE } from './state.ts';
import { memberBundles } from './submission.ts';

/**
 * `POST Group/$bulk-member-match`, the Bulk Data way: 202 with a status URL, 202 polls while
 * "matching" (`pollsBeforeReady`), then a manifest of Group NDJSON files (MatchedMembers always,
 * NonMatchedMembers and ConsentConstrainedMembers when not empty). `GET Group/{id}` reads a
 * MatchedMembers Group: 404 when unknown (or another client's), 410 once it expired.
 * @see Da Vinci PDex 2.2.0 payertopayerbulkexchange.md; Bulk Data STU2 export.html (async pattern)
 */
/** The largest $bulk-member-match body accepted: some 20,000 members. */
const MATCH_BODY_LIMIT = 64 * 1024 * 1024;

export function registerBulkMemberMatch(
  app: FastifyInstance,
  context: SandboxContext,
  pdex: PdexState,
  finder: MemberFinder,
): void {
  const systemToken = (request: FastifyRequest) =>
    requireToken(request, context, ['system'], 'Payer-to-Payer matching needs a client credentials token');

  // One request carries every member (about 3 kB each): well past Fastify's 1 MiB default.
  app.post(
    `${P2P_BASE}/Group/$bulk-member-match`,
    { bodyLimit: MATCH_BODY_LIMIT },
    async (request, reply) => {
      const token = systemToken(request);
      if (!/\brespond-async\b/.test(String(request.headers.prefer ?? '')))
        throw new FhirRequestError(
          400,
          'invalid',
          '$bulk-member-match requires the header Prefer: respond-async',
        );
      const outageAfter = pdex.settings.matchOutageAfter;
      if (outageAfter !== undefined && pdex.matchRequests.length >= outageAfter)
        throw new FhirRequestError(500, 'exception', 'the member match service is down (sandbox outage)');
      pdex.matchRequests.push(request.body);
      const files = decideMatch(context, pdex, finder, memberBundles(request.body), token.grant.clientId);
      const job = {
        id: randomUUID(),
        files,
        sequence: pdex.matchRequests.length,
        polls: 0,
        cancelled: false,
      };
      pdex.matchJobs.set(job.id, job);
      return reply
        .code(202)
        .header('content-location', `${context.urls.url}${P2P_BASE}/matchstatus/${job.id}`)
        .send(operationOutcome('informational', `member match ${job.id} accepted`, 'information'));
    },
  );

  app.get(`${P2P_BASE}/matchstatus/:id`, async (request, reply) => {
    systemToken(request);
    const job = liveMatch(pdex, (request.params as { id: string }).id);
    job.polls += 1;
    const held = pdex.matchesHeldFrom !== undefined && job.sequence >= pdex.matchesHeldFrom;
    if (held || job.polls <= context.options.pollsBeforeReady) {
      return reply
        .code(202)
        .header('x-progress', 'matching members')
        .header('retry-after', String(context.options.retryAfterSeconds))
        .send();
    }
    return reply
      .code(200)
      .type('application/json')
      .send({
        transactionTime: instant(context.options.now()),
        request: `${context.urls.url}${P2P_BASE}/Group/$bulk-member-match`,
        requiresAccessToken: true,
        output: job.files.map((f) => ({
          type: 'Group',
          url: `${context.urls.url}${P2P_BASE}/match-files/${job.id}/${f.name}`,
          count: 1,
        })),
        error: [],
      });
  });

  app.delete(`${P2P_BASE}/matchstatus/:id`, async (request, reply) => {
    systemToken(request);
    liveMatch(pdex, (request.params as { id: string }).id).cancelled = true;
    return reply.code(202).send(operationOutcome('informational', 'match result deleted', 'information'));
  });

  app.get(`${P2P_BASE}/match-files/:id/:name`, async (request, reply) => {
    systemToken(request);
    const { id, name } = request.params as { id: string; name: string };
    const file = liveMatch(pdex, id).files.find((f) => f.name === name);
    if (!file) throw new FhirRequestError(404, 'not-found', `no match result file ${name}`);
    return reply.type('application/fhir+ndjson').send(`${JSON.stringify(file.group)}\n`);
  });

  app.get(`${P2P_BASE}/Group/:id`, async (request) => {
    const token = systemToken(request);
    return liveGroup(context, pdex, (request.params as { id: string }).id, token.grant.clientId).resource;
  });
}

/**
 * The MatchedMembers Group a client may export: 404 when it is unknown or another client's,
 * 410 when older than `groupLifetimeDays` (PDex: treat the Group as short-lived and re-match).
 */
export function liveGroup(
  context: SandboxContext,
  pdex: PdexState,
  id: string,
  clientId: string,
): MatchGroup {
  const group = pdex.groups.get(id);
  if (!group || group.clientId !== clientId)
    throw new FhirRequestError(404, 'not-found', `Group/${id} is not a member match Group of this client`);
  const ageDays = (context.options.now() - group.createdAt) / 86_400_000;
  if (ageDays >= pdex.settings.groupLifetimeDays) {
    throw new FhirRequestError(
      410,
      'expired',
      `Group/${id} expired ${pdex.settings.groupLifetimeDays} days after the match: run $bulk-member-match again`,
    );
  }
  return group;
}

function liveMatch(pdex: PdexState, id: string) {
  const job = pdex.matchJobs.get(id);
  if (!job || job.cancelled) throw new FhirRequestError(404, 'not-found', `no member match ${id}`);
  return job;
}
