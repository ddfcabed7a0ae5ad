/** FHIR REST search of member-authorized data: search URLs, searchset pages, the incremental cursor. */
export { InvalidSearchBundleError, SearchPageError } from './errors.ts';
export {
  CURSOR_SAFETY_MARGIN_MS,
  cursorAfterPaging,
  isLater,
  newestLastUpdated,
  type PagingState,
  serverClock,
} from './incremental-cursor.ts';
export { deadResumeLinkReason, refusedTypeReason } from './refused-type.ts';
export { processSearchBundle, type SearchPage } from './search-bundle.ts';
export { memberSearchUrl } from './search-request.ts';
