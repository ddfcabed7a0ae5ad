import {
  type BearerAuth,
  discardBody,
  errorDetail,
  type HttpClient,
  HttpError,
  readErrorBody,
  redactUrl,
} from '../http/index.ts';
import { BulkKickOffError } from './errors.ts';

/**
 * The Bulk Data kick-off: the request that starts an export and answers with the status URL.
 *
 * @see Bulk Data STU2 export.html#bulk-data-kick-off-request
 * @see Da Vinci ATR OperationDefinition davinci-data-export (POST Group/{id}/$davinci-data-export)
 */

/** What an export asks for. Names follow the group-export OperationDefinition's parameters. */
export interface ExportParameters {
  level: 'system' | 'patient' | 'group';
  groupId?: string;
  operation: 'export' | 'davinci-data-export';
  /** PDex `exportType` (davinci-data-export only), e.g. hl7.fhir.us.davinci-pdex#provider-delta. */
  exportType?: string;
  outputFormat?: string;
  since?: string;
  until?: string;
  types?: string[];
  typeFilters?: string[];
  elements?: string[];
  /** Patient references (POST only), e.g. Patient/123. */
  patients?: string[];
}

export type KickOffMethod = 'GET' | 'POST';

/** A kick-off as it is sent (and recorded in fhir_etl.bulk_exports.request). */
export interface KickOffRequest {
  url: string;
  method: KickOffMethod;
  headers: Record<string, string>;
  body?: string;
}

export interface KickOffOptions {
  /** The method tried first; the other one follows a 405 unless the parameters need POST. */
  method: KickOffMethod;
  auth?: BearerAuth;
  signal?: AbortSignal;
}

export interface KickOffResult {
  statusUrl: string;
  /** The request the server accepted. */
  request: KickOffRequest;
}

/**
 * Sends the kick-off and returns the status URL. A server that answers 405 to the method
 * tried first (some answer only POST, some only GET) is asked again with the other one.
 * A 429 (another export still running) is waited out by the HTTP client, honouring Retry-After,
 * and so is a 5xx whose OperationOutcome says `transient`: in both the server says it started
 * nothing. A kick-off is never repeated after anything else (a dropped connection, a headers
 * timeout, any other 5xx), even as a GET: the server may have started an export already, and a
 * second request would start another.
 */
export async function kickOff(
  client: HttpClient,
  baseUrl: string,
  parameters: ExportParameters,
  options: KickOffOptions,
): Promise<KickOffResult> {
  const methods = kickOffMethods(parameters, options.method);
  for (const [i, method] of methods.entries()) {
    const request = kickOffRequest(baseUrl, parameters, method);
    const response = await send(client, request, options);
    if (response.status === 405 && i < methods.length - 1) {
      await discardBody(response);
      continue;
    }
    return { statusUrl: await processKickOffResponse(response, request.url), request };
  }
  /* c8 ignore next */
  throw new Error('unreachable: the last method always returns or throws');
}

/**
 * Reads the kick-off response: `202 Accepted` with the status URL in Content-Location.
 * Anything else is a refused kick-off, quoting the server's OperationOutcome.
 *
 * @see Bulk Data STU2 export.html#response---success
 */
export async function processKickOffResponse(response: Response, requestUrl: string): Promise<string> {
  if (response.status !== 202) {
    const detail = errorDetail(await readErrorBody(response));
    throw new BulkKickOffError({ url: redactUrl(requestUrl), status: response.status, detail });
  }
  await discardBody(response);
  const location = response.headers.get('content-location');
  if (!location) {
    throw new BulkKickOffError({
      url: redactUrl(requestUrl),
      status: 202,
      detail: 'the 202 response has no Content-Location header (the status URL)',
    });
  }
  // The spec wants an absolute URL; a relative one is read against the kick-off URL.
  return new URL(location, requestUrl).href;
}

/**
 * The kick-off request for a method: GET with query parameters, or POST with a FHIR
 * Parameters body. Both carry `Accept: application/fhir+json` and `Prefer: respond-async`.
 *
 * @see Bulk Data STU2 export.html#headers
 * @see Bulk Data STU2 export.html#query-parameters
 */
export function kickOffRequest(
  baseUrl: string,
  parameters: ExportParameters,
  method: KickOffMethod,
): KickOffRequest {
  const url = new URL(kickOffEndpoint(baseUrl, parameters));
  const headers: Record<string, string> = { accept: 'application/fhir+json', prefer: 'respond-async' };
  if (method === 'GET') {
    for (const [name, value] of queryParameters(parameters)) url.searchParams.append(name, value);
    return { url: url.href, method, headers };
  }
  headers['content-type'] = 'application/fhir+json';
  return { url: url.href, method, headers, body: JSON.stringify(parametersResource(parameters)) };
}

/** `[base]/$export`, `[base]/Patient/$export`, `[base]/Group/[id]/$export` or `[base]/Group/[id]/$davinci-data-export`. */
export function kickOffEndpoint(baseUrl: string, parameters: ExportParameters): string {
  const base = baseUrl.replace(/\/+$/, '');
  const operation = parameters.operation === 'davinci-data-export' ? '$davinci-data-export' : '$export';
  switch (parameters.level) {
    case 'system':
      return `${base}/${operation}`;
    case 'patient':
      return `${base}/Patient/${operation}`;
    case 'group':
      return `${base}/Group/${encodeURIComponent(parameters.groupId ?? '')}/${operation}`;
  }
}

/** POST only when the parameters need it (`patient`, `$davinci-data-export`); otherwise both, preferred first. */
function kickOffMethods(parameters: ExportParameters, preferred: KickOffMethod): KickOffMethod[] {
  if (needsPost(parameters)) return ['POST'];
  return preferred === 'GET' ? ['GET', 'POST'] : ['POST', 'GET'];
}

function needsPost(parameters: ExportParameters): boolean {
  return parameters.operation === 'davinci-data-export' || (parameters.patients?.length ?? 0) > 0;
}

/** Repeated `_typeFilter`s stay separate: a filter may itself hold commas. */
function queryParameters(p: ExportParameters): Array<[string, string]> {
  const query: Array<[string, string]> = [];
  if (p.outputFormat) query.push(['_outputFormat', p.outputFormat]);
  if (p.since) query.push(['_since', p.since]);
  if (p.until) query.push(['_until', p.until]);
  if (p.types?.length) query.push(['_type', p.types.join(',')]);
  for (const filter of p.typeFilters ?? []) query.push(['_typeFilter', filter]);
  if (p.elements?.length) query.push(['_elements', p.elements.join(',')]);
  return query;
}

/**
 * The POST body.
 *
 * @see Bulk Data STU2 export.html#post-body
 */
export function parametersResource(p: ExportParameters): {
  resourceType: 'Parameters';
  parameter: unknown[];
} {
  const parameter: unknown[] = [];
  if (p.outputFormat) parameter.push({ name: '_outputFormat', valueString: p.outputFormat });
  if (p.since) parameter.push({ name: '_since', valueInstant: p.since });
  if (p.until) parameter.push({ name: '_until', valueInstant: p.until });
  if (p.types?.length) parameter.push({ name: '_type', valueString: p.types.join(',') });
  for (const filter of p.typeFilters ?? []) parameter.push({ name: '_typeFilter', valueString: filter });
  if (p.elements?.length) parameter.push({ name: '_elements', valueString: p.elements.join(',') });
  for (const reference of p.patients ?? [])
    parameter.push({ name: 'patient', valueReference: { reference } });
  if (p.operation === 'davinci-data-export' && p.exportType) {
    parameter.push({ name: 'exportType', valueCanonical: p.exportType });
  }
  return { resourceType: 'Parameters', parameter };
}

async function send(client: HttpClient, request: KickOffRequest, options: KickOffOptions): Promise<Response> {
  try {
    return await client.request(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      auth: options.auth,
      signal: options.signal,
      accept: [405],
      // A kick-off starts a job, whatever its method: not safe to repeat (see kickOff).
      idempotent: false,
      retryServerErrors: false,
    });
  } catch (cause) {
    if (!(cause instanceof HttpError)) throw cause;
    const detail = cause.context.detail as string | undefined;
    throw new BulkKickOffError({ url: redactUrl(request.url), status: cause.status, detail }, cause);
  }
}
