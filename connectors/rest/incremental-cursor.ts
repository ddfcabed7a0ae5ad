/**
 * The incremental cursor of one member's search for one type: the `_lastUpdated` value the
 * next search asks for changes at or after (`ge`, see search-request.ts).
 *
 * Pages come in the server's order, not in lastUpdated order, so the newest lastUpdated seen
 * so far is NOT a safe cursor until the last page has been read: had it been committed after
 * page 1, a crash would restart at the newest instant and skip the older changes on pages
 * 2..n. So while paging, each page commits (with its rows) only the paging state (the next
 * page's URL and the newest instant so far); the cursor itself advances once, with the last
 * page. A crash resumes at the committed next link; the cursor never moves backwards.
 *
 * Nor may the cursor pass the server's clock at the start of the search: a resource updated
 * while we page may sit on a page already read (or shift the offsets of a paged search), and
 * its new lastUpdated is older than resources seen on later pages. The cursor is therefore
 * capped at when the server answered the first page (Bundle.meta.lastUpdated, else the HTTP
 * `Date` header) minus CURSOR_SAFETY_MARGIN_MS, so the next run asks again for everything
 * changed since the search began. Without either, the cap is unknown and the newest instant
 * seen is used as before.
 * @see FHIR R4 search.html#lastUpdated, search.html#paging, bundle.html (Bundle.meta.lastUpdated);
 *   RFC 9110 section 6.6.1 (Date)
 */
export interface PagingState {
  /** The cursor the search started from (undefined: everything). */
  since?: string;
  /** The next page to read. */
  next: string;
  /** The newest meta.lastUpdated among the resources read so far. */
  newest?: string;
  /** The server's clock when it answered the first page: Bundle.meta.lastUpdated, else the Date header. */
  searchedAt?: string;
}

/**
 * Subtracted from the server's clock at the start of a search before it may become the cursor.
 * It covers what the server's clock does not tell: a resource stamped with lastUpdated when
 * its transaction began but visible only once it commits, servers behind a load balancer whose
 * clocks differ a little, and a Bundle.meta.lastUpdated taken from a cached search. The cost is
 * the resources changed in those five minutes being read once more next run; loading an
 * identical copy changes nothing.
 */
export const CURSOR_SAFETY_MARGIN_MS = 5 * 60_000;

/** The newer of `newest` and every resource's meta.lastUpdated. */
export function newestLastUpdated(
  newest: string | undefined,
  resources: readonly unknown[],
): string | undefined {
  let result = newest;
  for (const resource of resources) {
    const lastUpdated = (resource as { meta?: { lastUpdated?: unknown } } | null)?.meta?.lastUpdated;
    if (typeof lastUpdated === 'string' && isLater(lastUpdated, result)) result = lastUpdated;
  }
  return result;
}

/**
 * The server's clock for a search page: the Bundle's meta.lastUpdated (FHIR's own "when this
 * search ran"), else the response's HTTP Date header (second precision, rounded down: never
 * later than the answer), as a FHIR instant; undefined when neither parses.
 */
export function serverClock(
  bundleLastUpdated: string | undefined,
  dateHeader: string | null,
): string | undefined {
  for (const candidate of [bundleLastUpdated, dateHeader]) {
    const at = candidate ? Date.parse(candidate) : Number.NaN;
    if (!Number.isNaN(at)) return new Date(at).toISOString();
  }
  return undefined;
}

/**
 * The cursor once the last page is read: the newest instant seen, capped at the server's clock
 * when the search began minus the safety margin, and never before the cursor the search
 * started from (undefined: leave it as it is).
 */
export function cursorAfterPaging(state: Omit<PagingState, 'next'>): string | undefined {
  let cursor = state.newest;
  const cap =
    state.searchedAt === undefined ? undefined : Date.parse(state.searchedAt) - CURSOR_SAFETY_MARGIN_MS;
  if (cursor !== undefined && cap !== undefined && !Number.isNaN(cap) && Date.parse(cursor) > cap) {
    cursor = new Date(cap).toISOString();
  }
  if (cursor === undefined || (state.since !== undefined && !isLater(cursor, state.since))) return undefined;
  return cursor;
}

/** Whether FHIR instant `a` is after `b` (anything is after undefined). */
export function isLater(a: string, b: string | undefined): boolean {
  if (b === undefined) return true;
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  if (Number.isNaN(ta) || Number.isNaN(tb)) return false;
  return ta > tb;
}
