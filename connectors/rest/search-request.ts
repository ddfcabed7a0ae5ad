/**
 * The first page of one member's search for one resource type.
 * Patient is searched by `_id` (the member's own record), every other type by `patient`;
 * `_lastUpdated=gt<cursor>` asks only for what changed since the last committed search.
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
  if (options.since !== undefined) url.searchParams.set('_lastUpdated', `gt${options.since}`);
  url.searchParams.set('_count', String(options.count));
  return url;
}
