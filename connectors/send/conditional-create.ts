/**
 * Creating a resource so that a retry cannot duplicate it: a conditional create, matched on the
 * resource's first business identifier. The server creates it (201) or, when a resource with
 * that identifier exists, returns the existing one (200) instead of creating another.
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

/** `identifier=system|value` from the first identifier having both (FHIR token search syntax). */
export function identifierCondition(identifier: unknown): string | undefined {
  const first = Array.isArray(identifier)
    ? identifier.find((i) => typeof i?.system === 'string' && typeof i?.value === 'string')
    : undefined;
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
 * 201: created; 200: a conditional create found the resource already there. The server's id
 * comes from Location (`[base]/[type]/[id]/_history/[vid]`) or the returned resource.
 * @see FHIR R4 http.html#create (Location), http.html#ccreate (200 when one matches)
 */
export async function processCreateResponse(response: Response): Promise<CreateOutcome> {
  const location = response.headers.get('location') ?? response.headers.get('content-location') ?? undefined;
  const body = (await response.json().catch(() => undefined)) as { id?: unknown } | undefined;
  const fromLocation = location
    ? /\/[A-Z][A-Za-z]+\/([^/]+)(?:\/_history\/[^/]+)?\/?$/.exec(location)?.[1]
    : undefined;
  const serverId = fromLocation ?? (typeof body?.id === 'string' ? body.id : undefined);
  return {
    outcome: response.status === 201 ? 'created' : 'existed',
    ...(serverId === undefined ? {} : { serverId }),
    ...(location === undefined ? {} : { location }),
  };
}
