/**
 * The resources a `deleted` file's Bundle removes: each entry's `request` with method DELETE
 * and a url of `Type/id` (relative or absolute, optionally with `/_history/n`).
 *
 * @see Bulk Data STU2 export.html#response---complete-status (deleted)
 */
export interface DeletedReference {
  resourceType: string;
  id: string;
}

const REFERENCE = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?\/?$/;

export function deletedReferences(bundle: unknown): DeletedReference[] {
  if (typeof bundle !== 'object' || bundle === null) return [];
  const entries = (bundle as { entry?: unknown }).entry;
  if (!Array.isArray(entries)) return [];
  const references: DeletedReference[] = [];
  for (const entry of entries) {
    const request = (entry as { request?: { method?: unknown; url?: unknown } } | null)?.request;
    if (typeof request?.url !== 'string') continue;
    if (typeof request.method === 'string' && request.method.toUpperCase() !== 'DELETE') continue;
    const match = REFERENCE.exec(request.url.split('?')[0] as string);
    if (match) references.push({ resourceType: match[1] as string, id: match[2] as string });
  }
  return references;
}
