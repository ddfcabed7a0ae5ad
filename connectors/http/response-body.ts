import { InvalidJsonBodyError } from './errors.ts';
import { operationOutcomeText } from './operation-outcome.ts';

/** How much of an error body is read: enough for any OperationOutcome, never a whole file. */
const ERROR_BODY_BYTES = 64 * 1024;
/** How much of a non-FHIR error body a message quotes. */
const EXCERPT_CHARS = 500;

/**
 * The start of a response body as text (decoded, gunzipped), then the rest is cancelled so the
 * connection is freed. A body that breaks off mid-read yields what arrived.
 */
export async function readErrorBody(response: Response, maxBytes = ERROR_BODY_BYTES): Promise<string> {
  if (!response.body) return '';
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // The error body is only context for a message; a broken one must not hide the status.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, maxBytes));
}

/** Drops a body nobody will read (a retried 429, a redirect), so undici can reuse the socket. */
export async function discardBody(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

/** What the server said: its OperationOutcome's text, or the first 500 characters of a non-FHIR body. */
export function errorDetail(bodyText: string): string | undefined {
  const outcome = operationOutcomeText(bodyText);
  if (outcome !== undefined) return outcome;
  const excerpt = bodyText.trim().replace(/\s+/g, ' ').slice(0, EXCERPT_CHARS);
  return excerpt === '' ? undefined : excerpt;
}

/**
 * The whole body parsed as JSON; a body that is not JSON throws InvalidJsonBodyError quoting
 * its start. `shownUrl` is the request URL as the message may show it (already redacted).
 */
export async function parseJsonBody<T = unknown>(
  response: Response,
  method: string,
  shownUrl: string,
): Promise<T> {
  const text = await response.text();
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new InvalidJsonBodyError(
      { method: method.toUpperCase(), url: shownUrl, status: response.status, excerpt: text.slice(0, 200) },
      error,
    );
  }
}
