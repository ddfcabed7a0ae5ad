import {
  type BearerAuth,
  discardBody,
  errorDetail,
  type HttpClient,
  isTransientOutcome,
  parseJsonBody,
  readErrorBody,
  retryAfterMs,
} from '../http/index.ts';
import { BulkExportFailedError, BulkExportNotFoundError, BulkManifestError } from './errors.ts';
import { type Manifest, processManifest } from './manifest.ts';
import { redactStatusUrl } from './redact-status-url.ts';

/**
 * The status request: one poll of the status URL (or of a manifest's `next` page).
 *
 * @see Bulk Data STU2 export.html#bulk-data-status-request
 */

/** What one poll found. */
export type StatusResult =
  /** 202: still running; the server may say how far along it is and when to ask again. */
  | { state: 'in-progress'; progress?: string; retryAfterMs?: number }
  /** 429: polling too often. */
  | { state: 'throttled'; retryAfterMs?: number }
  /** Only this poll failed (OperationOutcome `transient`, or a gateway error with no FHIR body). */
  | { state: 'transient'; status: number; detail?: string; retryAfterMs?: number }
  /** 200: the manifest. */
  | { state: 'complete'; manifest: Manifest };

/**
 * Every error status comes back to processStatusResponse, which tells a failed poll from a
 * failed job; except 401, which is about our token, never the job: the HTTP client renews the
 * token and retries it under its retry budget, then throws HttpAuthError (the export stays resumable).
 */
const ERROR_STATUSES = Array.from({ length: 200 }, (_, i) => 400 + i).filter((status) => status !== 401);

/**
 * Sends one status request. No status is thrown here: 202, 429 and the error statuses all go
 * to processStatusResponse (the HTTP client still retries network failures). The status URL
 * is a capability: the client's logs and errors show it through redactStatusUrl.
 */
export function pollStatus(
  client: HttpClient,
  statusUrl: string,
  options: { auth?: BearerAuth; signal?: AbortSignal } = {},
): Promise<Response> {
  return client.request(statusUrl, {
    headers: { accept: 'application/json' },
    auth: options.auth,
    signal: options.signal,
    accept: ERROR_STATUSES,
    displayUrl: redactStatusUrl,
  });
}

/**
 * Reads a status response.
 * - 202: in progress, with `X-Progress` and `Retry-After` (seconds or an HTTP-date).
 * - 200: complete; the body is the manifest.
 * - 429: throttled.
 * - 4xx/5xx whose OperationOutcome says `transient`: only the poll failed. So is a 502, 503 or
 *   504 without an OperationOutcome: that is a gateway speaking, not the FHIR server.
 * - 404 or 410: the export is gone, expired or forgotten by the server (BulkExportNotFoundError).
 * - anything else: the job failed (BulkExportFailedError with the server's diagnostics).
 *
 * @see Bulk Data STU2 export.html#response---in-progress-status
 * @see Bulk Data STU2 export.html#response---error-status-1
 */
export async function processStatusResponse(
  response: Response,
  statusUrl: string,
  now: number = Date.now(),
): Promise<StatusResult> {
  const retryAfter = retryAfterMs(response.headers.get('retry-after'), now);
  const wait = retryAfter === undefined ? {} : { retryAfterMs: retryAfter };
  if (response.status === 202) {
    await discardBody(response);
    const progress = response.headers.get('x-progress')?.trim();
    return { state: 'in-progress', ...(progress ? { progress: progress.slice(0, 100) } : {}), ...wait };
  }
  if (response.status === 200) {
    const body = await parseJsonBody(response, 'GET', redactStatusUrl(statusUrl));
    return { state: 'complete', manifest: processManifest(body, statusUrl) };
  }
  if (response.status >= 200 && response.status < 300) {
    throw new BulkManifestError({
      url: redactStatusUrl(statusUrl),
      problem: `unexpected status ${response.status}`,
    });
  }
  const body = await readErrorBody(response);
  const detail = errorDetail(body);
  if (response.status === 429) return { state: 'throttled', ...wait };
  if (isTransientOutcome(body) || isGatewayError(response.status, body)) {
    return { state: 'transient', status: response.status, ...(detail ? { detail } : {}), ...wait };
  }
  if (response.status === 404 || response.status === 410) {
    throw new BulkExportNotFoundError({
      statusUrl: redactStatusUrl(statusUrl),
      status: response.status,
      detail,
    });
  }
  throw new BulkExportFailedError({ statusUrl: redactStatusUrl(statusUrl), status: response.status, detail });
}

function isGatewayError(status: number, body: string): boolean {
  return (status === 502 || status === 503 || status === 504) && !body.includes('"OperationOutcome"');
}
