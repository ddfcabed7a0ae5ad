import type { Logger } from 'pino';
import { type BearerAuth, type HttpClient, sleep as defaultSleep } from '../http/index.ts';
import { BulkExportTimeoutError, BulkStatusUnavailableError } from './errors.ts';
import { type Manifest, mergeManifestPages } from './manifest.ts';
import { nextPollDelay } from './poll-interval.ts';
import { redactStatusUrl } from './redact-status-url.ts';
import { pollStatus, processStatusResponse, type StatusResult } from './status.ts';

export interface AwaitManifestOptions {
  auth?: BearerAuth;
  signal?: AbortSignal;
  /** export.maxPollIntervalSeconds, in milliseconds. */
  maxPollIntervalMs: number;
  /**
   * Epoch milliseconds after which waiting counts as timed out (export.timeoutMinutes from when
   * this run started polling); undefined: no deadline (a completed export's manifest re-fetched
   * for fresh URLs answers at once, and a shutdown still cuts the wait short).
   */
  deadline?: number;
  timeoutMinutes: number;
  logger?: Logger;
  /** The server's X-Progress text, each time it changes. */
  onProgress?: (progress: string) => void;
  /** Every poll that did not complete the export: what it said and when the next one goes. */
  onPoll?: (poll: PollReport) => void;
  /** Transient failures in a row before the poll gives up (default 10). */
  maxTransientFailures?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
}

/** One status poll that did not complete the export, for a progress display. */
export interface PollReport {
  state: Exclude<StatusResult['state'], 'complete'>;
  /** The server's latest X-Progress, if it sent one. */
  progress?: string;
  /** Since this wait began (this run's first poll of the page). */
  elapsedMs: number;
  /** Until the next poll. */
  nextPollMs: number;
}

/**
 * Polls the status URL until the export completes, then follows the manifest's `next` links
 * (STU3 paged manifests) and returns every page merged. Waits honour Retry-After, else back off
 * exponentially, never beyond the cap; a shutdown signal cuts any wait short.
 *
 * @see Bulk Data STU2 export.html#bulk-data-status-request
 * @see Bulk Data STU3 export.html#response---complete-status (link)
 */
export async function awaitManifest(
  client: HttpClient,
  statusUrl: string,
  options: AwaitManifestOptions,
): Promise<Manifest> {
  const pages: Manifest[] = [];
  let url: string | undefined = statusUrl;
  while (url !== undefined) {
    const page = await awaitManifestPage(client, url, options);
    pages.push(page);
    url = page.next;
  }
  return mergeManifestPages(pages);
}

async function awaitManifestPage(
  client: HttpClient,
  url: string,
  options: AwaitManifestOptions,
): Promise<Manifest> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const maxTransient = options.maxTransientFailures ?? 10;
  let lastProgress: string | undefined;
  let transientFailures = 0;
  const started = now();
  // A server that throttles for minutes asks again and again: the first clamp is logged, the rest counted.
  const clamps = { count: 0, askedMs: 0, waitMs: 0 };
  try {
    return await pollUntilComplete();
  } finally {
    if (clamps.count > 1) logClampedAgain(options.logger, url, clamps);
  }

  async function pollUntilComplete(): Promise<Manifest> {
    for (let poll = 1; ; poll++) {
      options.signal?.throwIfAborted();
      if (options.deadline !== undefined && now() > options.deadline) {
        throw new BulkExportTimeoutError({
          statusUrl: redactStatusUrl(url),
          minutes: options.timeoutMinutes,
          progress: lastProgress,
        });
      }
      const result = await processStatusResponse(await pollStatus(client, url, options), url, now());
      if (result.state === 'complete') return result.manifest;
      if (
        result.state === 'in-progress' &&
        result.progress !== undefined &&
        result.progress !== lastProgress
      ) {
        lastProgress = result.progress;
        options.onProgress?.(result.progress);
      }
      transientFailures = result.state === 'transient' ? transientFailures + 1 : 0;
      if (result.state === 'transient') {
        if (transientFailures >= maxTransient) {
          throw new BulkStatusUnavailableError({
            statusUrl: redactStatusUrl(url),
            status: result.status,
            polls: transientFailures,
            ...(result.detail === undefined ? {} : { detail: result.detail }),
          });
        }
        logTransient(options.logger, url, result);
      }
      const delay = nextPollDelay(poll, result.retryAfterMs, options.maxPollIntervalMs);
      if (delay.clamped) {
        if (++clamps.count === 1) logClamped(options.logger, url, result.retryAfterMs as number, delay.ms);
        clamps.askedMs = Math.max(clamps.askedMs, result.retryAfterMs as number);
        clamps.waitMs = delay.ms;
      }
      options.onPoll?.({
        state: result.state,
        ...(lastProgress === undefined ? {} : { progress: lastProgress }),
        elapsedMs: now() - started,
        nextPollMs: delay.ms,
      });
      await sleep(delay.ms, options.signal);
    }
  }
}

function logTransient(
  logger: Logger | undefined,
  url: string,
  result: Extract<StatusResult, { state: 'transient' }>,
) {
  logger?.warn(
    {
      event: 'bulk.poll_transient',
      statusUrl: redactStatusUrl(url),
      status: result.status,
      detail: result.detail,
    },
    `status poll answered ${result.status} (transient${result.detail ? `: ${result.detail}` : ''}); polling again`,
  );
}

function logClampedAgain(
  logger: Logger | undefined,
  url: string,
  clamps: { count: number; askedMs: number; waitMs: number },
) {
  logger?.warn(
    {
      event: 'bulk.retry_after_clamped_repeated',
      statusUrl: redactStatusUrl(url),
      times: clamps.count,
      maxRetryAfterMs: clamps.askedMs,
      waitMs: clamps.waitMs,
    },
    `the status URL asked ${clamps.count - 1} more time(s) to wait longer than export.maxPollIntervalSeconds ` +
      `(up to ${Math.round(clamps.askedMs / 1000)} s); each wait was ${clamps.waitMs / 1000} s`,
  );
}

function logClamped(logger: Logger | undefined, url: string, askedMs: number, waitMs: number) {
  logger?.warn(
    { event: 'bulk.retry_after_clamped', statusUrl: redactStatusUrl(url), retryAfterMs: askedMs, waitMs },
    `the status URL asked to wait ${Math.round(askedMs / 1000)} s; waiting ${waitMs / 1000} s (export.maxPollIntervalSeconds)`,
  );
}
