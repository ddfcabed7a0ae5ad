import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import {
  BulkExportExpiredError,
  BulkFileError,
  BulkFileExpiredError,
  processFileResponse,
  requestFile,
} from '../../connectors/bulk/index.ts';
import {
  backoffDelayMs,
  type BearerAuth,
  type HttpClient,
  HttpError,
  redactUrl,
  sleep,
} from '../../connectors/http/index.ts';
import { errorMessage } from '../../errors/index.ts';
import { isRetryableLoad } from '../../loaders/index.ts';
import type { BulkFile } from './export-store.ts';

export interface FileDownload {
  client: HttpClient;
  /** The token for files (undefined when the manifest says they need none). */
  auth?: BearerAuth;
  logger: Logger;
  /** The file's current URL: a refresh after a 410 replaces it. */
  urlOf(file: BulkFile): string;
  /** Fetches the manifest again for fresh URLs (one refresh shared by every file that asks). */
  refreshUrls(): Promise<void>;
  /** Attempts per file when its download breaks off part way (default 4). */
  maxAttempts?: number;
  /** Refreshes per file after 410 Gone (default 2). */
  maxRefreshes?: number;
  retryDelay?: { baseDelayMs: number; maxDelayMs: number };
  /** Graceful shutdown: no new attempt starts, and a request or a wait between attempts is cut short. */
  signal?: AbortSignal;
}

/**
 * Streams one file from the server into `load`, which commits it whole or not at all. A
 * download that breaks off (a reset socket, a truncated gzip body) rolls its transaction
 * back and is tried again from the start; a 410 fetches fresh URLs first, and a file that stays
 * 410 (or a status URL that is gone) means the export expired. HTTP statuses and
 * network failures the HTTP client already retried are not retried again here. A shutdown
 * stops the retries: it is checked before each attempt and cuts the request and the wait short.
 *
 * @see Bulk Data STU2 export.html#file-request
 */
export async function downloadAndLoad<T>(
  file: BulkFile,
  download: FileDownload,
  load: (stream: Readable, url: string) => Promise<T>,
): Promise<T> {
  const maxAttempts = download.maxAttempts ?? 4;
  let refreshes = 0;
  for (let attempt = 1; ; attempt++) {
    download.signal?.throwIfAborted();
    const url = download.urlOf(file);
    let stream: Readable | undefined;
    try {
      stream = await processFileResponse(
        await requestFile(download.client, url, { auth: download.auth, signal: download.signal }),
        url,
      );
      return await load(stream, url);
    } catch (error) {
      // A shutdown is not the file's fault: reported as the shutdown it is, never retried.
      if (download.signal?.aborted) throw error;
      if (error instanceof BulkFileExpiredError) {
        if (refreshes >= (download.maxRefreshes ?? 2)) {
          throw new BulkExportExpiredError({
            exportId: file.exportId,
            url: redactUrl(url),
            detail: `its file still answers 410 Gone after ${refreshes} fresh manifest(s) from the status URL`,
          });
        }
        refreshes++;
        attempt--;
        download.logger.info(
          { event: 'bulk.file_expired', file: file.fileKey },
          `${redactUrl(url)} expired (410); fetching fresh URLs`,
        );
        await download.refreshUrls();
        continue;
      }
      if (!isInterruptedLoad(error) || attempt >= maxAttempts) {
        throw new BulkFileError(
          {
            url: redactUrl(url),
            kind: file.kind,
            resourceType: file.resourceType,
            attempts: attempt,
            reason: errorMessage(error),
          },
          error,
        );
      }
      const waitMs = backoffDelayMs(attempt, download.retryDelay ?? { baseDelayMs: 500, maxDelayMs: 10_000 });
      download.logger.warn(
        {
          event: 'bulk.file_retry',
          file: file.fileKey,
          url: redactUrl(url),
          attempt,
          waitMs,
          reason: errorMessage(error),
        },
        `${redactUrl(url)} broke off (${errorMessage(error)}); nothing committed, downloading it again`,
      );
      await sleep(waitMs, download.signal);
    } finally {
      stream?.destroy();
    }
  }
}

/**
 * Worth another try from the start: the load failed in a way that may not recur (its
 * transaction rolled back: the body broke off, or the file lost a deadlock; see
 * isRetryableLoad), or the token was refused again after the client's one renewal (another
 * download's renewal raced it; the next try gets a fresh token). A load that fails the same
 * way every time (a view's SQL error, a constraint) fails the file at once.
 */
function isInterruptedLoad(error: unknown): boolean {
  return isRetryableLoad(error) || (error instanceof HttpError && error.status === 401);
}
