import { processKickOffResponse } from '../bulk/index.ts';
import {
  type BearerAuth,
  errorDetail,
  type HttpClient,
  HttpError,
  parseJsonBody,
  readErrorBody,
  redactUrl,
} from '../http/index.ts';
import { MemberMatchKickOffError } from './errors.ts';
import { type MatchGroupsReader, matchGroupsReader } from './match-groups.ts';
import type { ParametersParameter } from './member-bundle.ts';

/**
 * `POST [base]/Group/$bulk-member-match`: one MemberBundle per member, answered the Bulk Data
 * way (202 + Content-Location, then the status URL and a manifest of Group NDJSON files). A
 * server that answers at once with the PDex 2.1.0 Parameters envelope (200) is read too.
 *
 * @see Da Vinci PDex 2.2.0 OperationDefinition BulkMemberMatch (async, affectsState)
 * @see Bulk Data STU2 export.html#bulk-data-kick-off-request (the async pattern it follows)
 */

export interface BulkMemberMatchRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** The kick-off was accepted (poll the status URL) or answered at once (the Groups are here). */
export type BulkMemberMatchStarted =
  { state: 'accepted'; statusUrl: string } | { state: 'answered'; groups: MatchGroupsReader };

/** The request: a Parameters resource whose parameters are the members' MemberBundles. */
export function bulkMemberMatchRequest(
  baseUrl: string,
  bundles: ParametersParameter[],
): BulkMemberMatchRequest {
  return {
    url: `${baseUrl.replace(/\/+$/, '')}/Group/$bulk-member-match`,
    headers: {
      accept: 'application/fhir+json',
      prefer: 'respond-async',
      'content-type': 'application/fhir+json',
    },
    body: JSON.stringify({ resourceType: 'Parameters', parameter: bundles }),
  };
}

/**
 * Sends the match request. Like a Bulk kick-off it is never repeated after a failure that may
 * have reached the server (it creates Groups there); 429 and `transient` are waited out by the
 * HTTP client.
 */
export async function startBulkMemberMatch(
  client: HttpClient,
  request: BulkMemberMatchRequest,
  options: { auth?: BearerAuth; signal?: AbortSignal },
): Promise<BulkMemberMatchStarted> {
  let response: Response;
  try {
    response = await client.request(request.url, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
      auth: options.auth,
      signal: options.signal,
      idempotent: false,
      retryServerErrors: false,
    });
  } catch (cause) {
    if (!(cause instanceof HttpError)) throw cause;
    throw new MemberMatchKickOffError(
      {
        url: redactUrl(request.url),
        status: cause.status,
        detail: cause.context.detail as string | undefined,
      },
      cause,
    );
  }
  return processBulkMemberMatchResponse(response, request.url);
}

/** 202: the status URL; 200: the Groups inline (PDex 2.1.0); anything else: refused. */
export async function processBulkMemberMatchResponse(
  response: Response,
  requestUrl: string,
): Promise<BulkMemberMatchStarted> {
  if (response.status === 200) {
    const body = await parseJsonBody(response, 'POST', redactUrl(requestUrl));
    const groups = matchGroupsReader();
    groups.addResource(body, { file: redactUrl(requestUrl), line: 1 });
    return { state: 'answered', groups };
  }
  if (response.status !== 202) {
    const detail = errorDetail(await readErrorBody(response));
    throw new MemberMatchKickOffError({ url: redactUrl(requestUrl), status: response.status, detail });
  }
  return { state: 'accepted', statusUrl: await processKickOffResponse(response, requestUrl) };
}
