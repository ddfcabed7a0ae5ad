/**
 * The incremental cursor of one member's search for one type: the `_lastUpdated` value the
 * next search asks for changes after.
 *
 * Pages come in the server's order, not in lastUpdated order, so the newest lastUpdated seen
 * so far is NOT a safe cursor until the last page has been read: had it been committed after
 * page 1, a crash would restart at `gt<newest>` and skip the older changes on pages 2..n.
 * So while paging, each page commits (with its rows) only the paging state (the next page's
 * URL and the newest instant so far); the cursor itself advances once, with the last page.
 * A crash resumes at the committed next link; the cursor never moves backwards.
 *
 * One more guard: a resource updated while we page may move to a page already read. When the
 * server says when it ran the search (Bundle.meta.lastUpdated), the cursor is capped there,
 * so the next run asks again for everything changed since the search began.
 * @see FHIR R4 search.html#lastUpdated, search.html#paging
 */
export interface PagingState {
  /** The cursor the search started from (undefined: everything). */
  since?: string;
  /** The next page to read. */
  next: string;
  /** The newest meta.lastUpdated among the resources read so far. */
  newest?: string;
  /** The first page's Bundle.meta.lastUpdated. */
  searchedAt?: string;
}

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
 * The cursor once the last page is read: the newest instant seen, capped at when the search
 * ran, and never before the cursor the search started from (undefined: leave it as it is).
 */
export function cursorAfterPaging(state: Omit<PagingState, 'next'>): string | undefined {
  let cursor = state.newest;
  if (cursor !== undefined && state.searchedAt !== undefined && isLater(cursor, state.searchedAt)) {
    cursor = state.searchedAt;
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
