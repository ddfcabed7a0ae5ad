import { HttpError } from '../http/index.ts';

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
