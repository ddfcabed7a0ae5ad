import { FhirEtlError } from '../../errors/index.ts';

/**
 * Creating a resource so that a retry cannot duplicate it: a conditional create, matched on the
 * resource's first business identifier. The server creates it (201) or, when a resource with
 * that identifier exists, returns the existing one (200) instead of creating another. A resource
 * without an identifier goes as a plain create, which only the send ledger keeps from repeating.
 * @see FHIR R4 http.html#ccreate
 */
export interface CreateRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Whether the request is a conditional create (safe to retry after a 5xx). */
  conditional: boolean;
}

export function createRequest(
  baseUrl: string,
  resource: { resourceType: string; identifier?: unknown },
): CreateRequest {
  const condition = identifierCondition(resource.identifier);
  return {
    url: `${baseUrl.replace(/\/+$/, '')}/${resource.resourceType}`,
    headers: {
      'content-type': 'application/fhir+json',
      accept: 'application/fhir+json',
      ...(condition === undefined ? {} : { 'if-none-exist': condition }),
    },
    body: JSON.stringify(resource),
    conditional: condition !== undefined,
  };
}

function hasSystemAndValue(identifier: unknown): identifier is { system: string; value: string } {
  const { system, value } = (identifier ?? {}) as { system?: unknown; value?: unknown };
  return typeof system === 'string' && typeof value === 'string';
}

/** `identifier=system|value` from the first identifier having both (FHIR token search syntax). */
export function identifierCondition(identifier: unknown): string | undefined {
  const first = Array.isArray(identifier) ? (identifier as unknown[]).find(hasSystemAndValue) : undefined;
  if (!first) return undefined;
  const escape = (s: string) => s.replace(/[\\|,$]/g, (c) => `\\${c}`);
  return new URLSearchParams({ identifier: `${escape(first.system)}|${escape(first.value)}` }).toString();
}

export interface CreateOutcome {
  outcome: 'created' | 'existed';
  serverId?: string;
  location?: string;
}

/**
 * A 2xx that does not confirm the create: 202 Accepted (processed later, and may still fail),
 * 200 to a plain create (no If-None-Exist, so "it existed" means nothing), or any other 2xx.
 * The server may or may not hold the resource.
 */
export class CreateNotConfirmedError extends FhirEtlError {
  readonly status: number;

  constructor(details: { url: string; status: number; conditional: boolean }) {
    const why =
      details.status === 202
        ? '202 Accepted: the server queued the create, which may still fail'
        : details.status === 200 && !details.conditional
          ? '200 to a plain create (not conditional), which confirms nothing'
          : `${details.status}, which is not 201 Created${details.conditional ? ' nor 200 (found by the condition)' : ''}`;
    super(`POST ${details.url} answered ${why}`, { code: 'SEND_CREATE_UNCONFIRMED', context: details });
    this.status = details.status;
  }
}

/**
 * 201: created; 200 to a conditional create: the resource was already there. Anything else
 * (202 included) throws CreateNotConfirmedError. The server's id comes from Location
 * (`[base]/[type]/[id]/_history/[vid]`) or the returned resource.
 * @see FHIR R4 http.html#create (201, Location), http.html#ccreate (200 when one matches)
 */
export async function processCreateResponse(
  response: Response,
  request: Pick<CreateRequest, 'url' | 'conditional'>,
): Promise<CreateOutcome> {
  const location = response.headers.get('location') ?? response.headers.get('content-location') ?? undefined;
  const body = (await response.json().catch(() => undefined)) as { id?: unknown } | undefined;
  const outcome =
    response.status === 201
      ? 'created'
      : response.status === 200 && request.conditional
        ? 'existed'
        : undefined;
  if (outcome === undefined) {
    throw new CreateNotConfirmedError({
      url: request.url,
      status: response.status,
      conditional: request.conditional,
    });
  }
  const fromLocation = location
    ? /\/[A-Z][A-Za-z]+\/([^/]+)(?:\/_history\/[^/]+)?\/?$/.exec(location)?.[1]
    : undefined;
  const serverId = fromLocation ?? (typeof body?.id === 'string' ? body.id : undefined);
  return {
    outcome,
    ...(serverId === undefined ? {} : { serverId }),
    ...(location === undefined ? {} : { location }),
  };
}
