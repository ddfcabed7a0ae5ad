import { createHash } from 'node:crypto';
import type { SqlQueryable } from '../../loaders/postgres/load-transaction.ts';
import type { Logger } from 'pino';
import type { BearerAuth, HttpClient } from '../../connectors/http/index.ts';
import {
  cursorAfterPaging,
  deadResumeLinkReason,
  memberSearchUrl,
  newestLastUpdated,
  type PagingState,
  processSearchBundle,
  refusedTypeReason,
  type SearchPage,
  SearchPageError,
  serverClock,
} from '../../connectors/rest/index.ts';
import type { FileLoadResult } from '../../loaders/index.ts';
import { ingestResources, type LoadContext } from '../ingest.ts';
import type { ProgressReporter } from '../progress.ts';
import type { RunRecorder } from '../run-recorder.ts';
import {
  dropPagingState,
  finishSearch,
  PAGING_STATE_MAX_AGE_MS,
  readSearchCheckpoint,
  savePagingState,
  type SearchCheckpoint,
} from './search-checkpoint.ts';

/** One member's search for one resource type, as a run asks for it. */
export interface MemberSearch {
  load: LoadContext;
  run: RunRecorder;
  http: HttpClient;
  /** The member's bearer token, for the FHIR server's origin only. */
  auth: BearerAuth;
  source: { name: string; baseUrl: string; pageSize: number };
  patientId: string;
  resourceType: string;
  /** Ignore the cursor and any search under way: read everything again. */
  fullRefresh?: boolean;
  /** Told of each page as it loads: a page is one file of the load path. */
  progress?: ProgressReporter;
  signal?: AbortSignal;
  /** Where a search started again (a dead resume link) is reported. */
  logger?: Logger;
}

export type MemberSearchOutcome =
  { status: 'searched'; pages: number; resources: number } | { status: 'refused'; reason: string };

/**
 * Reads every page of the search (following Bundle.link next to the end) and loads each page
 * as one file, committed with the search's state: a crash resumes at the next page, and the
 * `_lastUpdated` cursor moves only when the last page commits (see incremental-cursor.ts).
 *
 * A search under way is resumed at its stored next link unless it is older than
 * PAGING_STATE_MAX_AGE_MS. When that link turns out dead (deadResumeLinkReason: expired,
 * refused, another origin), the stored state is dropped and the search starts again from the
 * cursor in the same run: otherwise every later run would ask for the same dead link.
 * @see FHIR R4 search.html#paging
 */
export async function searchMemberType(search: MemberSearch): Promise<MemberSearchOutcome> {
  const checkpoint = search.fullRefresh
    ? {}
    : await readSearchCheckpoint(search.load.db, search.source.name, search.patientId, search.resourceType);
  const resumable = resumableSearch(checkpoint);
  if (resumable !== undefined) {
    try {
      return await readSearch(search, resumable, true);
    } catch (error) {
      if (!(error instanceof DeadResumeLinkError)) throw error;
      search.logger?.warn(
        { event: 'rest.resume-restarted', member: search.patientId, resourceType: search.resourceType },
        `${error.message}; searching again from the cursor`,
      );
      await dropPagingState(search.load.db, stateKey(search));
    }
  }
  return readSearch(search, firstPage(search, checkpoint.cursor), false);
}

/** The stored search to go on with: started from the current cursor, and recent enough. */
function resumableSearch(checkpoint: SearchCheckpoint): PagingState | undefined {
  const { paging, pagingAgeMs } = checkpoint;
  if (paging === undefined || paging.since !== checkpoint.cursor) return undefined;
  if (pagingAgeMs !== undefined && pagingAgeMs > PAGING_STATE_MAX_AGE_MS) return undefined;
  return paging;
}

function firstPage(search: MemberSearch, cursor: string | undefined): PagingState {
  return {
    ...(cursor === undefined ? {} : { since: cursor }),
    next: memberSearchUrl(search.source.baseUrl, search.resourceType, search.patientId, {
      since: cursor,
      count: search.source.pageSize,
    }).href,
  };
}

/** The stored next link of a resumed search failed in a way asking again will not mend. */
class DeadResumeLinkError extends Error {}

async function readSearch(
  search: MemberSearch,
  start: PagingState,
  resumed: boolean,
): Promise<MemberSearchOutcome> {
  const { patientId, resourceType } = search;
  let state = start;
  let pages = 0;
  let resources = 0;
  for (;;) {
    if (search.signal?.aborted) throw search.signal.reason;
    const url = state.next;
    let page: SearchPage & { text: string };
    try {
      page = await readPage(search, url);
    } catch (error) {
      if (pages === 0) {
        const dead = resumed ? deadResumeLinkReason(error) : undefined;
        if (dead !== undefined)
          throw new DeadResumeLinkError(`the stored next link of a search under way failed: ${dead}`);
        const refusal = resumed ? undefined : refusedTypeReason(error);
        if (refusal !== undefined) return { status: 'refused', reason: refusal };
      }
      throw new SearchPageError({ source: search.source.name, member: patientId, resourceType, url }, error);
    }
    const { next, ...progress } = {
      ...state,
      next: page.next,
      newest: newestLastUpdated(state.newest, page.resources),
      searchedAt: state.searchedAt ?? page.searchedAt,
    };
    await commitPage(search, url, page, (tx) =>
      next === undefined
        ? finishSearch(tx, stateKey(search), cursorAfterPaging(progress))
        : savePagingState(tx, stateKey(search), { ...progress, next }),
    );
    pages++;
    resources += page.resources.length;
    if (next === undefined) return { status: 'searched', pages, resources };
    state = { ...progress, next };
  }
}

async function readPage(search: MemberSearch, url: string): Promise<SearchPage & { text: string }> {
  const response = await search.http.request(url, {
    headers: { accept: 'application/fhir+json' },
    auth: search.auth,
    signal: search.signal,
  });
  const text = await response.text();
  const dateHeader = response.headers.get('date');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const page = processSearchBundle(body, url);
  const searchedAt = serverClock(page.searchedAt, dateHeader);
  return { ...page, ...(searchedAt === undefined ? {} : { searchedAt }), text };
}

/**
 * A page's rows and the search state commit in one transaction. The file key is the page's
 * URL and content: the same page read again (a resumed run) is not loaded twice, and a page
 * whose content changed is. An empty page has no rows: only the state is written.
 */
async function commitPage(
  search: MemberSearch,
  url: string,
  page: SearchPage & { text: string },
  saveState: (tx: SqlQueryable) => Promise<void>,
): Promise<void> {
  if (page.resources.length === 0) {
    await search.load.db.tx(saveState);
    return;
  }
  const digest = createHash('sha256').update(url).update('\n').update(page.text).digest('hex').slice(0, 32);
  search.progress?.fileStarted(url);
  search.progress?.bytes(Buffer.byteLength(page.text));
  const result = await ingestResources(
    search.load,
    {
      source: search.source.name,
      fileKey: `rest:${search.patientId}:${search.resourceType}:${digest}`,
      path: url,
      runId: search.run.id,
    },
    page.resources,
    { beforeCommit: (tx) => saveState(tx) },
  );
  // An identical page committed before did not run beforeCommit: the state still moves on.
  if (result.status === 'already-loaded') await search.load.db.tx(saveState);
  search.run.add(changesOnly(result));
  search.progress?.fileDone(url, result);
}

/**
 * A page's load result as the run's totals count it: only the resources that were inserted or
 * replaced. A search reads the cursor's instant (and the safety margin) again on purpose; an
 * identical copy changes nothing in fhir_raw and is not a change of this run.
 */
function changesOnly(result: FileLoadResult): FileLoadResult {
  if (result.status === 'already-loaded') return result;
  const counts = Object.fromEntries(
    Object.entries(result.counts).map(([type, c]) => [type, { ...c, resources: c.inserted + c.updated }]),
  );
  const resources = Object.values(counts).reduce((sum, c) => sum + c.resources, 0);
  return { ...result, counts, resources };
}

function stateKey(search: MemberSearch) {
  return {
    source: search.source.name,
    patientId: search.patientId,
    resourceType: search.resourceType,
    runId: search.run.id,
  };
}
