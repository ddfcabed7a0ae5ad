import { FhirEtlError } from '../../errors/index.ts';

/** A search page that is not a searchset Bundle: nothing of it is loaded. */
export class InvalidSearchBundleError extends FhirEtlError {
  constructor(url: string, problem: string) {
    super(`GET ${url} did not answer a FHIR searchset Bundle: ${problem}`, {
      code: 'REST_INVALID_BUNDLE',
      context: { url },
    });
  }
}

/**
 * A page of a member's search failed after the HTTP layer's retries. The run fails; the pages
 * committed before it stay, and the next run continues from them.
 */
export class SearchPageError extends FhirEtlError {
  constructor(
    details: { source: string; member: string; resourceType: string; url: string },
    cause: unknown,
  ) {
    const said = cause instanceof Error ? cause.message : String(cause);
    super(
      `${details.resourceType} search of member ${details.member} (source ${details.source}) failed at ${details.url}: ${said}`,
      { code: 'REST_SEARCH_FAILED', context: details, cause },
    );
  }
}
