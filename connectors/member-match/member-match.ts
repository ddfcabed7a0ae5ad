import {
  type BearerAuth,
  errorDetail,
  type HttpClient,
  HttpError,
  operationOutcomeText,
  parseJsonBody,
  readErrorBody,
  redactUrl,
} from '../http/index.ts';
import { MemberMatchResponseError } from './errors.ts';
import type { ParametersParameter } from './member-bundle.ts';

/**
 * `POST [base]/Patient/$member-match` (HRex): one member's demographics, coverages and consent;
 * the answer is the member's identifier at the prior payer (MemberIdentifier) and, when the
 * consent can be honoured, their Patient id (MemberId). 422 means no match, several matches, or
 * a consent the prior payer cannot honour.
 *
 * @see HRex 1.1.0 OperationDefinition member-match, hrex-parameters-member-match-out
 * @see Da Vinci PDex 2.2.0 payertopayerexchange.md ("a 422 Unprocessable entity status code")
 */

export type MemberMatchResult =
  | { state: 'matched'; memberIdentifier?: { system?: string; value: string }; memberId?: string }
  | { state: 'not-matched' | 'consent-constrained'; reason?: string };

export function memberMatchRequest(baseUrl: string, parts: ParametersParameter[]) {
  return {
    url: `${baseUrl.replace(/\/+$/, '')}/Patient/$member-match`,
    headers: { accept: 'application/fhir+json', 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Parameters', parameter: parts }),
  };
}

/** Sends one $member-match. A match creates nothing at the prior payer: it is safe to repeat. */
export async function memberMatch(
  client: HttpClient,
  request: ReturnType<typeof memberMatchRequest>,
  options: { auth?: BearerAuth; signal?: AbortSignal },
): Promise<MemberMatchResult> {
  try {
    const response = await client.request(request.url, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
      auth: options.auth,
      signal: options.signal,
      idempotent: true,
      accept: [422],
    });
    return await processMemberMatchResponse(response, request.url);
  } catch (cause) {
    if (!(cause instanceof HttpError)) throw cause;
    const detail = cause.context.detail as string | undefined;
    throw new MemberMatchResponseError({ url: redactUrl(request.url), status: cause.status, detail }, cause);
  }
}

/**
 * 200: the MemberIdentifier (and MemberId, a Patient reference, when the consent is honoured).
 * 422: refused; an OperationOutcome that speaks of consent makes it consent-constrained (HRex
 * does not code the reasons; PDex: "an Operation Outcome which indicates that the consent
 * request could not be complied with"), anything else not matched.
 */
export async function processMemberMatchResponse(
  response: Response,
  requestUrl: string,
): Promise<MemberMatchResult> {
  if (response.status === 422) {
    const text = await readErrorBody(response);
    const reason = operationOutcomeText(text) ?? errorDetail(text);
    const consent = reason !== undefined && /consent/i.test(reason);
    return { state: consent ? 'consent-constrained' : 'not-matched', ...(reason ? { reason } : {}) };
  }
  const body = await parseJsonBody<{ parameter?: Array<Record<string, unknown>> }>(
    response,
    'POST',
    redactUrl(requestUrl),
  );
  const parameters = Array.isArray(body.parameter) ? body.parameter : [];
  const identifier = parameters.find((p) => p.name === 'MemberIdentifier')?.valueIdentifier as
    { system?: unknown; value?: unknown } | undefined;
  const reference = (parameters.find((p) => p.name === 'MemberId')?.valueReference as { reference?: unknown })
    ?.reference;
  const memberId = typeof reference === 'string' ? /Patient\/([^/]+)/.exec(reference)?.[1] : undefined;
  if (typeof identifier?.value !== 'string' && memberId === undefined) {
    throw new MemberMatchResponseError({
      url: redactUrl(requestUrl),
      status: response.status,
      detail: 'the answer has neither MemberIdentifier nor MemberId',
    });
  }
  return {
    state: 'matched',
    ...(typeof identifier?.value === 'string'
      ? {
          memberIdentifier: {
            value: identifier.value,
            ...(typeof identifier.system === 'string' ? { system: identifier.system } : {}),
          },
        }
      : {}),
    ...(memberId === undefined ? {} : { memberId }),
  };
}
