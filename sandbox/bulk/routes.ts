import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireToken } from '../bearer.ts';
import { PROVIDER_BASE, type SandboxContext } from '../context.ts';
import { memberIndexOf } from '../data/members.ts';
import { groupOf, GROUPS, groupId } from '../data/shared.ts';
import { FhirRequestError, operationOutcome } from '../errors.ts';
import { compileSearch } from '../search-params.ts';
import { createJob, type ExportJob, manifest } from './jobs.ts';
import { type ExportRequest, parametersOf, parseKickOff } from './kick-off.ts';

/**
 * Provider Access: Bulk Data kick-off (system, Patient, Group, and PDex `$davinci-data-export`),
 * status polling with its faults, cancellation, and the attribution Groups.
 * @see Bulk Data STU2 export.html; Da Vinci PDex 2.2.0 provider-access-api.md
 */
export function registerBulkRoutes(app: FastifyInstance, context: SandboxContext): void {
  const systemToken = (request: FastifyRequest) =>
    requireToken(request, context, ['system'], 'Provider Access needs a client credentials token');

  const kickOff = (level: 'system' | 'patient' | 'group', operation: '$export' | '$davinci-data-export') => {
    return async (request: FastifyRequest, reply: FastifyReply) => {
      systemToken(request);
      if (!/\brespond-async\b/.test(String(request.headers.prefer ?? ''))) {
        throw new FhirRequestError(400, 'invalid', 'kick-off requires the header Prefer: respond-async');
      }
      const post = request.method === 'POST';
      const parameters: Array<[string, string]> = [
        ...new URL(request.url, context.urls.url).searchParams,
        ...(post ? parametersOf(request.body) : []),
      ];
      const params = parseKickOff(parameters, { post, operation });
      const group = level === 'group' ? groupNumber((request.params as { id: string }).id) : undefined;
      const job = createJob(context, params, `${context.urls.url}${request.url}`, scope(params, group));
      return reply
        .code(202)
        .header('content-location', `${context.urls.providerBaseUrl}/bulkstatus/${job.id}`)
        .send(operationOutcome('informational', `export ${job.id} accepted`, 'information'));
    };
  };

  for (const method of ['GET', 'POST'] as const) {
    app.route({ method, url: `${PROVIDER_BASE}/$export`, handler: kickOff('system', '$export') });
    app.route({ method, url: `${PROVIDER_BASE}/Patient/$export`, handler: kickOff('patient', '$export') });
    app.route({ method, url: `${PROVIDER_BASE}/Group/:id/$export`, handler: kickOff('group', '$export') });
  }
  app.post(`${PROVIDER_BASE}/Group/:id/$davinci-data-export`, kickOff('group', '$davinci-data-export'));

  app.get(`${PROVIDER_BASE}/bulkstatus/:jobId`, async (request, reply) => {
    systemToken(request);
    const job = liveJob(context, (request.params as { jobId: string }).jobId);
    return pollStatus(context, job, reply);
  });

  app.delete(`${PROVIDER_BASE}/bulkstatus/:jobId`, async (request, reply) => {
    systemToken(request);
    const job = liveJob(context, (request.params as { jobId: string }).jobId);
    job.cancelled = true;
    return reply
      .code(202)
      .send(
        operationOutcome('informational', `export ${job.id} cancelled and its files deleted`, 'information'),
      );
  });

  app.get(`${PROVIDER_BASE}/Group/:id`, async (request) => {
    systemToken(request);
    return context.dataset.groups()[groupNumber((request.params as { id: string }).id)];
  });

  app.get(`${PROVIDER_BASE}/Group`, async (request) => {
    systemToken(request);
    const params = [...new URL(request.url, context.urls.url).searchParams].filter(([n]) => n !== '_count');
    const matches = compileSearch(
      'Group',
      params.filter(([n]) => n !== 'code'),
    );
    const groups = context.dataset.groups().filter((g) => matches(g));
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      total: groups.length,
      link: [{ relation: 'self', url: `${context.urls.url}${request.url}` }],
      entry: groups.map((g) => ({
        fullUrl: `${context.urls.providerBaseUrl}/Group/${g.id}`,
        resource: g,
        search: { mode: 'match' },
      })),
    };
  });
}

function groupNumber(id: string): number {
  for (let n = 0; n < GROUPS; n++) if (groupId(n) === id) return n;
  throw new FhirRequestError(404, 'not-found', `Group/${id} does not exist`);
}

/** The members a kick-off covers: a Group's, or everyone; narrowed by `patient` when given. */
function scope(params: ExportRequest, group: number | undefined): (index: number) => boolean {
  const chosen = params.patientIds
    ? new Set([...params.patientIds].map(memberIndexOf).filter((i): i is number => i !== undefined))
    : undefined;
  return (index) => (group === undefined || groupOf(index) === group) && (!chosen || chosen.has(index));
}

function liveJob(context: SandboxContext, id: string): ExportJob {
  const job = context.jobs.get(id);
  if (!job || job.cancelled)
    throw new FhirRequestError(
      404,
      'not-found',
      `no export job ${id} (finished and deleted, or never started)`,
    );
  return job;
}

/**
 * One status poll. Faults first (429 twice, then a transient 500), then `pollsBeforeReady`
 * 202 answers with X-Progress and Retry-After, then the manifest.
 * @see Bulk Data STU2 export.html#bulk-data-status-request
 */
export function pollStatus(context: SandboxContext, job: ExportJob, reply: FastifyReply) {
  const { faults, options } = context;
  job.polls += 1;
  if (faults['429'] && job.polls <= 2) {
    const retryAfter =
      job.polls === 1
        ? String(options.retryAfterSeconds)
        : new Date(options.now() + options.retryAfterSeconds * 1000).toUTCString();
    throw new FhirRequestError(429, 'throttled', 'polling too fast (429 fault)', {
      'retry-after': retryAfter,
    });
  }
  if (faults['500'] && !job.spent.has('500')) {
    job.spent.add('500');
    throw new FhirRequestError(500, 'transient', 'this status poll failed; poll again (500 fault)');
  }
  if (!job.counted || job.readyPolls < options.pollsBeforeReady) {
    job.readyPolls += 1;
    const percent = Math.floor((100 * job.progress) / Math.max(1, context.dataset.patients));
    return reply
      .code(202)
      .header('x-progress', `preparing: ${job.counted ? 100 : percent}% of members counted`)
      .header('retry-after', String(options.retryAfterSeconds))
      .send();
  }
  return reply
    .code(200)
    .type('application/json')
    .header('expires', new Date(options.now() + 3_600_000).toUTCString())
    .send(manifest(context, job));
}
