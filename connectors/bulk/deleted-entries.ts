/**
 * The resources a `deleted` file's Bundle removes: each entry's `request` with method DELETE
 * and a url of `Type/id` (relative or absolute, optionally with `/_history/n`), and when the
 * server says so, when it was deleted: the entry's `response.lastModified`, else the Bundle's
 * `meta.lastUpdated` (the spec's example carries one). A deletion without either is dated by
 * the caller (the export's transactionTime).
 *
 * @see Bulk Data STU2 export.html#response---complete-status (deleted)
 */
export interface DeletedReference {
  resourceType: string;
  id: string;
  /** When the server deleted it (an instant), if it said. */
  deletedAt?: string;
}

const REFERENCE = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?\/?$/;

export function deletedReferences(bundle: unknown): DeletedReference[] {
  if (typeof bundle !== 'object' || bundle === null) return [];
  const entries = (bundle as { entry?: unknown }).entry;
  if (!Array.isArray(entries)) return [];
  const bundleTime = instant((bundle as { meta?: { lastUpdated?: unknown } }).meta?.lastUpdated);
  const references: DeletedReference[] = [];
  for (const entry of entries) {
    const request = (entry as { request?: { method?: unknown; url?: unknown } } | null)?.request;
    const deletedAt =
      instant((entry as { response?: { lastModified?: unknown } } | null)?.response?.lastModified) ??
      bundleTime;
    if (typeof request?.url !== 'string') continue;
    if (typeof request.method === 'string' && request.method.toUpperCase() !== 'DELETE') continue;
    const match = REFERENCE.exec(request.url.split('?')[0] as string);
    if (match) {
      references.push({
        resourceType: match[1] as string,
        id: match[2] as string,
        ...(deletedAt === undefined ? {} : { deletedAt }),
      });
    }
  }
  return references;
}

/** A FHIR instant (with a time zone, as meta.lastUpdated and lastModified are); anything else is no date. */
function instant(value: unknown): string | undefined {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T[^Z+-]*(Z|[+-]\d{2}:\d{2})$/.test(value))
    return undefined;
  return Number.isNaN(Date.parse(value)) ? undefined : value;
}
