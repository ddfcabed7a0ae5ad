import { InvalidSearchBundleError } from './errors.ts';
import { shownValue } from '../../errors/shown-value.ts';

/** One page of search results, as the connector uses it. */
export interface SearchPage {
  /** The resources that matched (search.mode `match`, or no mode given). */
  resources: unknown[];
  /** The next page, resolved to an absolute URL; absent on the last page. */
  next?: string;
  /** The Bundle's meta.lastUpdated: when the server ran the search, by its own clock. */
  searchedAt?: string;
}

interface BundleShape {
  resourceType?: unknown;
  type?: unknown;
  meta?: { lastUpdated?: unknown };
  link?: Array<{ relation?: unknown; url?: unknown }>;
  entry?: Array<{ resource?: unknown; search?: { mode?: unknown } }>;
}

/**
 * Reads a searchset Bundle: its matches (included resources and OperationOutcome `outcome`
 * entries are not the member's data for this type) and its `next` link, which may be relative:
 * it is resolved against the page's own URL.
 * @see FHIR R4 bundle.html#searchset, search.html#paging, http.html#paging
 */
export function processSearchBundle(body: unknown, pageUrl: string): SearchPage {
  if (typeof body !== 'object' || body === null)
    throw new InvalidSearchBundleError(pageUrl, 'not a JSON object');
  const bundle = body as BundleShape;
  if (bundle.resourceType !== 'Bundle') {
    throw new InvalidSearchBundleError(pageUrl, `resourceType is ${String(bundle.resourceType)}`);
  }
  if (bundle.type !== undefined && bundle.type !== 'searchset') {
    throw new InvalidSearchBundleError(pageUrl, `Bundle.type is ${shownValue(bundle.type)}`);
  }
  const resources = (bundle.entry ?? [])
    .filter((entry) => entry.resource !== undefined && (entry.search?.mode ?? 'match') === 'match')
    .map((entry) => entry.resource);
  const next = bundle.link?.find((link) => link.relation === 'next')?.url;
  const searchedAt = bundle.meta?.lastUpdated;
  return {
    resources,
    ...(typeof next === 'string' && next !== '' ? { next: new URL(next, pageUrl).href } : {}),
    ...(typeof searchedAt === 'string' ? { searchedAt } : {}),
  };
}
