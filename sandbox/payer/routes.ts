import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireToken } from '../bearer.ts';
import { PAYER_BASE, type SandboxContext } from '../context.ts';
import { memberIndexOf } from '../data/members.ts';
import type { FhirResource } from '../data/resource.ts';
import { instant } from '../data/time.ts';
import { FhirRequestError } from '../errors.ts';
import type { AccessToken } from '../oauth/tokens.ts';
import { compileSearch } from '../search-params.ts';

/**
 * Payer-to-Payer, as 1upHealth offers it: member-authorized reads and searches of clinical
 * resources (claims and coverage refused), and the send side where a payer POSTs resources for
 * one member with a member-scoped `patient/*.c` token.
 * @see Da Vinci PDex 2.2.0 member-authorizedoauth2exchange.md; FHIR R4 http.html#read, #search, #ccreate
 */
export const READABLE_TYPES = [
  'Patient',
  'Encounter',
  'AllergyIntolerance',
  'MedicationRequest',
  'Condition',
  'Observation',
  'Procedure',
  'Immunization',
];
export const REFUSED_TYPES = ['ExplanationOfBenefit', 'Coverage', 'Claim', 'ClaimResponse'];
/** Paging parameters the server writes itself; never search filters. */
const CONTROL = new Set(['_count', '_page', '_format', '_total']);

export function registerPayerRoutes(app: FastifyInstance, context: SandboxContext): void {
  const reader = (request: FastifyRequest, type: string) => {
    const token = requireToken(
      request,
      context,
      ['member', 'system'],
      'a send token may only POST; reads and searches need a member-authorized token',
    );
    readableType(type);
    return token;
  };

  app.get(`${PAYER_BASE}/:type`, async (request) => {
    const { type } = request.params as { type: string };
    return search(context, reader(request, type), type, new URL(request.url, context.urls.url));
  });

  app.get(`${PAYER_BASE}/:type/:id`, async (request) => {
    const { type, id } = request.params as { type: string; id: string };
    const token = reader(request, type);
    const index = memberIndexOf(id);
    const visible =
      index !== undefined &&
      index < context.dataset.patients &&
      (token.grant.kind === 'system' || token.grant.patientIndex === index);
    const resource = visible
      ? context.dataset.resourcesOf(index).find((r) => r.resourceType === type && r.id === id)
      : undefined;
    if (!resource)
      throw new FhirRequestError(404, 'not-found', `${type}/${id} is not known to this token's member`);
    return resource;
  });

  app.post(`${PAYER_BASE}/:type`, async (request, reply) => {
    const { type } = request.params as { type: string };
    const token = requireToken(
      request,
      context,
      ['send'],
      'sending needs a member-scoped send token (scope patient/*.c with patient=<member id>)',
    );
    const grant = token.grant as Extract<AccessToken['grant'], { kind: 'send' }>;
    if (!grant.scope.split(/\s+/).some((s) => s === 'patient/*.c' || s === `patient/${type}.c`)) {
      throw new FhirRequestError(403, 'forbidden', `the token's scope does not allow creating ${type}`);
    }
    const resource = parseResource(request.body, type);
    const existing = conditionalMatch(context, grant.memberId, type, request.headers['if-none-exist']);
    if (existing) return reply.code(200).header('location', locationOf(context, existing)).send(existing);
    const stored: FhirResource = {
      ...resource,
      id: `sent-${context.posted.length + 1}`,
      meta: { ...(resource.meta ?? {}), versionId: '1', lastUpdated: instant(context.options.now()) },
    };
    context.posted.push({ memberId: grant.memberId, resource: stored });
    return reply.code(201).header('location', locationOf(context, stored)).send(stored);
  });

  for (const method of ['PUT', 'PATCH', 'DELETE'] as const) {
    app.route({
      method,
      url: `${PAYER_BASE}/:type/:id`,
      handler: async (request) => {
        const token = requireToken(request, context, ['member', 'system', 'send']);
        if (token.grant.kind === 'send')
          throw new FhirRequestError(403, 'forbidden', 'a send token may only create (POST)');
        throw new FhirRequestError(
          405,
          'not-supported',
          `${method} is not supported by the Payer-to-Payer API`,
        );
      },
    });
  }
}

function readableType(type: string): void {
  if (REFUSED_TYPES.includes(type)) {
    throw new FhirRequestError(
      403,
      'forbidden',
      `${type} is not available through the Payer-to-Payer API: claims and coverage data ` +
        `(${REFUSED_TYPES.join(', ')}) are excluded; only clinical resources can be read (${READABLE_TYPES.join(', ')})`,
    );
  }
  if (!READABLE_TYPES.includes(type))
    throw new FhirRequestError(404, 'not-supported', `resource type ${type} is not supported`);
}

/**
 * A searchset Bundle with total, in stable order (member, then record order), paged by
 * `_count` with an absolute `next` link carrying a `_page` offset.
 * @see FHIR R4 search.html#paging; bundle.html#searchset
 */
export function search(
  context: SandboxContext,
  token: AccessToken,
  type: string,
  url: URL,
  view: { base: string; recordOf(index: number): FhirResource[] } = {
    base: context.urls.payerBaseUrl,
    recordOf: (index) => context.dataset.resourcesOf(index),
  },
) {
  const params = [...url.searchParams];
  const count = Math.max(
    1,
    Math.min(
      1000,
      Number(url.searchParams.get('_count') ?? context.options.pageSize) || context.options.pageSize,
    ),
  );
  const offset = Math.max(0, Number(url.searchParams.get('_page') ?? 0) || 0);
  const patientRefs = params.filter(
    ([n]) => n === 'patient' || n === 'subject' || (type === 'Patient' && n === '_id'),
  );
  const matches = compileSearch(
    type,
    params.filter(([n]) => !CONTROL.has(n) && n !== 'patient' && n !== 'subject'),
  );
  const indexes = memberIndexes(
    context,
    token,
    patientRefs.flatMap(([, v]) => v.split(',')),
  );
  const page: FhirResource[] = [];
  let total = 0;
  for (const index of indexes) {
    for (const resource of view.recordOf(index)) {
      if (resource.resourceType !== type || !matches(resource)) continue;
      if (total >= offset && page.length < count) page.push(resource);
      total += 1;
    }
  }
  const link = [{ relation: 'self', url: url.toString() }];
  if (offset + count < total) {
    const next = new URL(url);
    next.searchParams.set('_page', String(offset + count));
    next.searchParams.set('_count', String(count));
    link.push({ relation: 'next', url: next.toString() });
  }
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total,
    link,
    entry: page.map((resource) => ({
      fullUrl: `${view.base}/${type}/${resource.id}`,
      resource,
      search: { mode: 'match' },
    })),
  };
}

/** The members a search may look at: the token's member only, narrowed by patient=/subject=/_id. */
function* memberIndexes(
  context: SandboxContext,
  token: AccessToken,
  patientIds: string[],
): Generator<number> {
  const wanted =
    patientIds.length > 0
      ? new Set(patientIds.map((p) => memberIndexOf(p.replace(/^.*Patient\//, ''))))
      : undefined;
  const grant = token.grant;
  if (grant.kind !== 'system') {
    if (!wanted || wanted.has(grant.patientIndex)) yield grant.patientIndex;
    return;
  }
  for (let index = 0; index < context.dataset.patients; index++)
    if (!wanted || wanted.has(index)) yield index;
}

function parseResource(body: unknown, type: string): FhirResource {
  let resource: unknown = body;
  if (typeof body === 'string') {
    try {
      resource = JSON.parse(body);
    } catch {
      throw new FhirRequestError(400, 'structure', 'the request body is not JSON');
    }
  }
  if (resource === null || typeof resource !== 'object' || Array.isArray(resource)) {
    throw new FhirRequestError(400, 'structure', 'the request body must be a FHIR resource (a JSON object)');
  }
  const found = (resource as { resourceType?: unknown }).resourceType;
  if (found !== type) {
    throw new FhirRequestError(
      400,
      'invalid',
      `resourceType ${String(found)} does not match the endpoint ${type}`,
    );
  }
  return resource as FhirResource;
}

/**
 * `If-None-Exist: identifier=system|value`: the resource already sent for this member with that
 * identifier, if any.
 * @see FHIR R4 http.html#ccreate
 */
function conditionalMatch(
  context: SandboxContext,
  memberId: string,
  type: string,
  header: string | string[] | undefined,
) {
  if (typeof header !== 'string' || header === '') return undefined;
  const params = [...new URLSearchParams(header.replace(/^.*\?/, ''))];
  const matches = compileSearch(type, params);
  return context.posted.find(
    (p) =>
      p.memberId === memberId &&
      (p.resource as FhirResource).resourceType === type &&
      matches(p.resource as FhirResource),
  )?.resource as FhirResource | undefined;
}

function locationOf(context: SandboxContext, resource: FhirResource): string {
  return `${context.urls.payerBaseUrl}/${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}`;
}
