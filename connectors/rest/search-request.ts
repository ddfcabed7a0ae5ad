/**
 * The first page of one member's search for one resource type.
 * Patient is searched by `_id` (the member's own record), every other type by `patient`;
 * `_lastUpdated=ge<cursor>` asks only for what changed since the last committed search. `ge`, not
 * `gt`: a resource stamped with the cursor's very instant may have become visible only after the
 * search that set the cursor ran; reading the cursor's instant again costs a few identical rows.
 * @see FHIR R4 search.html#all (`_id`, `_lastUpdated`), search.html#count, search.html#prefix
 */
export function memberSearchUrl(
  baseUrl: string,
  resourceType: string,
  patientId: string,
  options: { since?: string; count: number },
): URL {
  const url = new URL(`${baseUrl.replace(/\/+$/, '')}/${resourceType}`);
  url.searchParams.set(resourceType === 'Patient' ? '_id' : 'patient', patientId);
  if (options.since !== undefined) url.searchParams.set('_lastUpdated', `ge${options.since}`);
  url.searchParams.set('_count', String(options.count));
  return url;
}
