import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { type BearerAuth, discardBody, type HttpClient, originOf, redactUrl } from '../http/index.ts';
import { BulkFileExpiredError, BulkFileOriginError } from './errors.ts';
import { truncationGuard } from './truncation-guard.ts';
import type { Manifest, ManifestFile } from './manifest.ts';

/**
 * The file request: one output, deleted or error file of a completed export.
 *
 * @see Bulk Data STU2 export.html#file-request
 * @see Bulk Data STU3 export.html#file-request (Accept-Encoding, no token when not required)
 */

/**
 * The bearer auth a manifest's files get: none when `requiresAccessToken` is false (the URLs
 * are capabilities, and STU3 says the token SHALL NOT be sent), else the source's auth with
 * its allowed origins.
 */
export function fileAuth(
  manifest: Pick<Manifest, 'requiresAccessToken'>,
  auth: BearerAuth | undefined,
): BearerAuth | undefined {
  return manifest.requiresAccessToken ? auth : undefined;
}

/**
 * Refuses, before any file is requested, a manifest whose token-requiring files live on an
 * origin the token may not go to. The HTTP client would refuse each request anyway; checking
 * up front fails the run with one clear message instead of a file at a time.
 */
export function assertFileOrigins(files: ManifestFile[], auth: BearerAuth | undefined): void {
  if (!auth) return;
  const allowed = auth.allowedOrigins.map(originOf);
  for (const file of files) {
    const origin = originOf(file.url);
    if (!allowed.includes(origin)) {
      throw new BulkFileOriginError({ url: redactUrl(file.url), origin, allowedOrigins: allowed });
    }
  }
}

/** Requests one file; a 410 comes back to processFileResponse (fresh URLs are in a new manifest). */
export function requestFile(
  client: HttpClient,
  url: string,
  options: { auth?: BearerAuth; signal?: AbortSignal } = {},
): Promise<Response> {
  return client.request(url, {
    headers: { accept: 'application/fhir+ndjson', 'accept-encoding': 'gzip' },
    auth: options.auth,
    signal: options.signal,
    accept: [410],
  });
}

/**
 * The file's body as a Node stream, ready for the load path (which also recognises a
 * gzip body by its magic bytes when the server did not say Content-Encoding). A body fetch
 * decoded from a Content-Encoding goes through the truncation guard: fetch's decoder would
 * let a cut-off gzip body end quietly.
 */
export async function processFileResponse(response: Response, url: string): Promise<Readable> {
  if (response.status === 410) {
    await discardBody(response);
    throw new BulkFileExpiredError({ url: redactUrl(url) });
  }
  if (!response.body) return Readable.from([]);
  const body = Readable.fromWeb(response.body as ReadableStream<Uint8Array>);
  if (!response.headers.get('content-encoding')) return keepError(body);
  const guard = truncationGuard(redactUrl(url));
  // pipe() does not forward errors: a reset socket must fail the load, not end it quietly.
  body.on('error', (error) => guard.destroy(error));
  guard.on('close', () => body.destroy());
  return keepError(body.pipe(guard));
}

/**
 * The body may fail before the load path starts reading it (a small file is buffered while
 * the file's transaction opens). The stream keeps the error (`errored`) and the load path's
 * pipeline reports it; without a listener meanwhile, the 'error' event would crash the process.
 */
function keepError(stream: Readable): Readable {
  return stream.on('error', () => undefined);
}
