import { createHash } from 'node:crypto';
import type { Transaction } from '@databases/pg';
import type { BearerAuth, HttpClient } from '../../connectors/http/index.ts';
import {
  cursorAfterPaging,
  memberSearchUrl,
  newestLastUpdated,
  type PagingState,
  processSearchBundle,
  refusedTypeReason,
  type SearchPage,
  SearchPageError,
} from '../../connectors/rest/index.ts';
import { ingestResources, type LoadContext } from '../ingest.ts';
import type { RunRecorder } from '../run-recorder.ts';
import { finishSearch, readSearchCheckpoint, savePagingState } from './search-checkpoint.ts';

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
  signal?: AbortSignal;
}

export type MemberSearchOutcome =
  { status: 'searched'; pages: number; resources: number } | { status: 'refused'; reason: string };

/**
 * Reads every page of the search (following Bundle.link next to the end) and loads each page
 * as one file, committed with the search's state: a crash resumes at the next page, and the
 * `_lastUpdated` cursor moves only when the last page commits (see incremental-cursor.ts).
 * @see FHIR R4 search.html#paging
 */
export async function searchMemberType(search: MemberSearch): Promise<MemberSearchOutcome> {
  const { patientId, resourceType } = search;
  const checkpoint = search.fullRefresh
    ? {}
    : await readSearchCheckpoint(search.load.db, search.source.name, patientId, resourceType);
  const resumed = checkpoint.paging !== undefined && checkpoint.paging.since === checkpoint.cursor;
  let state: PagingState = resumed
    ? (checkpoint.paging as PagingState)
    : {
        ...(checkpoint.cursor === undefined ? {} : { since: checkpoint.cursor }),
        next: memberSearchUrl(search.source.baseUrl, resourceType, patientId, {
          since: checkpoint.cursor,
          count: search.source.pageSize,
        }).href,
      };
  let pages = 0;
  let resources = 0;
  for (;;) {
    if (search.signal?.aborted) throw search.signal.reason;
    const url = state.next;
    let page: SearchPage & { text: string };
    try {
      page = await readPage(search, url);
    } catch (error) {
      const refusal = pages === 0 && !resumed ? refusedTypeReason(error) : undefined;
      if (refusal !== undefined) return { status: 'refused', reason: refusal };
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
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { ...processSearchBundle(body, url), text };
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
  saveState: (tx: Transaction) => Promise<void>,
): Promise<void> {
  if (page.resources.length === 0) {
    await search.load.db.tx(saveState);
    return;
  }
  const digest = createHash('sha256').update(url).update('\n').update(page.text).digest('hex').slice(0, 32);
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
  search.run.add(result);
}

function stateKey(search: MemberSearch) {
  return {
    source: search.source.name,
    patientId: search.patientId,
    resourceType: search.resourceType,
    runId: search.run.id,
  };
}
