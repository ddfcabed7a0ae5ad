/** FHIR REST search of member-authorized data: search URLs, searchset pages, the incremental cursor. */
export { InvalidSearchBundleError, SearchPageError } from './errors.ts';
export { cursorAfterPaging, isLater, newestLastUpdated, type PagingState } from './incremental-cursor.ts';
export { refusedTypeReason } from './refused-type.ts';
export { processSearchBundle, type SearchPage } from './search-bundle.ts';
export { memberSearchUrl } from './search-request.ts';
