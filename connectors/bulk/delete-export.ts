import { type BearerAuth, errorDetail, type HttpClient, readErrorBody } from '../http/index.ts';
import { redactStatusUrl } from './redact-status-url.ts';

/**
 * Tells the server the client is done with an export (it may delete the files), or cancels a
 * running one. Returns the server's complaint when it refused, for a log line: a failed
 * clean-up never fails a run that loaded everything.
 *
 * @see Bulk Data STU2 export.html#bulk-data-delete-request
 */
export async function deleteExport(
  client: HttpClient,
  statusUrl: string,
  options: { auth?: BearerAuth; signal?: AbortSignal } = {},
): Promise<{ ok: boolean; status: number; detail?: string }> {
  const response = await client.request(statusUrl, {
    method: 'DELETE',
    headers: { accept: 'application/fhir+json' },
    auth: options.auth,
    signal: options.signal,
    accept: Array.from({ length: 200 }, (_, i) => 400 + i),
    displayUrl: redactStatusUrl,
  });
  const detail = errorDetail(await readErrorBody(response));
  return { ok: response.ok, status: response.status, ...(response.ok || !detail ? {} : { detail }) };
}
