import { HttpError, TokenOriginError } from '../http/index.ts';
import { InvalidSearchBundleError } from './errors.ts';

/**
 * Why a server refuses to search a resource type at all, or undefined when the failure is of
 * another kind. 400, 403 and 404 on the first page of a type's search (with the server's
 * OperationOutcome in the message) mean the type is not offered: 1up's Payer-to-Payer API
 * answers 403 for ExplanationOfBenefit, Coverage and Claim. Such a type is skipped and
 * reported, not retried, and does not fail the run.
 * @see FHIR R4 http.html#search (400 for unsupported parameters, 403 not authorized)
 */
export function refusedTypeReason(error: unknown): string | undefined {
  if (!(error instanceof HttpError)) return undefined;
  if (![400, 403, 404].includes(error.status)) return undefined;
  return error.message;
}

/**
 * Why a stored `next` link, read again by a later run to resume a search, is dead, or undefined
 * when the failure is of another kind. Servers keep a search's pages for a while only (HAPI's
 * `_getpages` ids, offset cursors tied to a session) and then answer 404, 410 Gone or another
 * 4xx, or a 200 that is not a searchset (an OperationOutcome); a link on an origin the token is
 * not for (the server moved) is never sent at all. None of that heals by asking again, so the
 * search restarts from its cursor. 408 and 429 are passing conditions, not dead links.
 * @see FHIR R4 search.html#paging (paging links are opaque, server-made, and need not last),
 *   http.html#Status-Codes
 */
export function deadResumeLinkReason(error: unknown): string | undefined {
  if (error instanceof TokenOriginError || error instanceof InvalidSearchBundleError) return error.message;
  if (!(error instanceof HttpError)) return undefined;
  if (error.status < 400 || error.status > 499 || error.status === 408 || error.status === 429)
    return undefined;
  return error.message;
}
