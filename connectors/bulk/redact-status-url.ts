/**
 * A status URL (or a manifest's `next` page URL) as it may appear in a log line, an error
 * message or `fhir-etl status`. Servers commonly make the status URL a capability: the job id
 * in its path is an unguessable secret that, with the files' `requiresAccessToken: false`
 * (STU3 capability URLs), is all a reader needs to fetch the export. So more than redactUrl
 * hides: every path segment that looks like an id (longer than 8 characters with a digit in
 * it, or longer than 20) keeps only its first 4 characters, and the query is dropped. The
 * origin and the shape stay, which is what an operator needs to tell exports apart.
 *
 * The real URL is kept, unredacted, only in fhir_etl.bulk_exports.status_url: a resumed export
 * must poll it (and DELETE it) again.
 *
 * @see Bulk Data STU2 export.html#response---success (Content-Location)
 * @see Bulk Data STU3 export.html#file-request (capability URLs)
 */
export function redactStatusUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(unparseable URL)';
  }
  const path = parsed.pathname.split('/').map(redactSegment).join('/');
  return `${parsed.origin}${path}${parsed.search ? '?…' : ''}`;
}

function redactSegment(segment: string): string {
  const looksLikeId = (segment.length > 8 && /\d/.test(segment)) || segment.length > 20;
  return looksLikeId ? `${segment.slice(0, 4)}…` : segment;
}
