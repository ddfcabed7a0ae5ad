import type { Logger } from 'pino';
import { FhirEtlError } from '../../errors/index.ts';
import { backoffDelayMs } from './backoff.ts';
import { HttpAuthError, HttpError, HttpNetworkError, HttpRedirectError } from './errors.ts';
import { fetchFailureReason, networkErrorCode, neverReachedServer } from './network-error.ts';
import { isTransientOutcome } from './operation-outcome.ts';
import { redactUrl } from './redact-url.ts';
import { isRedirectStatus, redirectTarget } from './redirect.ts';
import { discardBody, errorDetail, parseJsonBody, readErrorBody } from './response-body.ts';
import { retryAfterMs } from './retry-after.ts';
import { abortReason, sleep } from './sleep.ts';
import { assertTokenOrigin } from './token-origin.ts';
import type { BearerAuth, HttpClient, HttpClientOptions, HttpRequest, RetryPolicy } from './types.ts';
import { USER_AGENT } from './user-agent.ts';

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  // Field notes: status endpoints block over-eager pollers for 5 minutes; longer asks are clamped.
  maxRetryAfterMs: 5 * 60_000,
};

/** Generous: a FHIR server may think a while before the first byte of a large search page. */
const DEFAULT_TIMEOUT_MS = 120_000;
const MAX_REDIRECTS = 5;
/** Methods whose repetition changes nothing more than the first request did (RFC 9110 section 9.2.2). */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

interface Settings {
  retry: RetryPolicy;
  timeoutMs: number;
  userAgent: string;
  logger?: Logger;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  headersDeadline: (ms: number, signal: AbortSignal) => Promise<void>;
  now: () => number;
}

/** One request as sent, after defaults: what every step of the retry loop needs to know. */
interface Exchange {
  settings: Settings;
  url: URL;
  method: string;
  init: HttpRequest;
}

/**
 * The HTTP client every connector uses, on Node's fetch: retries what a server may answer
 * later, keeps the bearer token on its allowed origins, and turns every other failure into
 * an HttpError that names the request and quotes the server. See HttpClient for the rules.
 */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const settings: Settings = {
    retry: { ...DEFAULT_RETRY_POLICY, ...options.retry },
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    userAgent: options.userAgent ?? USER_AGENT,
    logger: options.logger,
    sleep: options.sleep ?? sleep,
    headersDeadline: options.headersDeadline ?? sleep,
    now: options.now ?? Date.now,
  };
  const request = (url: string | URL, init: HttpRequest = {}) =>
    requestWithRetries({ settings, url: new URL(url), method: (init.method ?? 'GET').toUpperCase(), init });
  return {
    request,
    async json<T>(url: string | URL, init: HttpRequest = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has('accept')) headers.set('accept', 'application/fhir+json, application/json');
      const response = await request(url, { ...init, headers: Object.fromEntries(headers) });
      const shown = (init.displayUrl ?? redactUrl)(new URL(url));
      return { response, body: await parseJsonBody<T>(response, init.method ?? 'GET', shown) };
    },
  };
}

/**
 * The retry loop: send, then renew the token, return, wait and retry, or fail. A 401 with a
 * token is never the server's verdict on the request, only on our token (revoked early, or
 * replaced by a concurrent request's renewal): it renews the token and tries again, even when
 * the caller accepts 401 (a Bulk status poll wants the server's word on the export, not on a
 * token). The first renewal is free (a stale token is no failure); each further 401 waits with
 * backoff and uses an attempt, and one past the budget throws HttpAuthError, whatever `accept` says.
 */
async function requestWithRetries(exchange: Exchange): Promise<Response> {
  const { settings, init } = exchange;
  let tokenRenewed = false;
  for (let attempt = 1; ; attempt++) {
    if (init.signal?.aborted) throw abortReason(init.signal);
    let response: Response;
    let token: string | undefined;
    try {
      ({ response, token } = await send(exchange));
    } catch (error) {
      await handleSendFailure(exchange, error, attempt);
      continue;
    }
    if (response.status === 401 && token !== undefined) {
      (init.auth as BearerAuth).provider.invalidate(token);
      if (!tokenRenewed) {
        tokenRenewed = true;
        await discardBody(response);
        attempt--;
        continue;
      }
      const body = await readErrorBody(response);
      if (attempt >= settings.retry.maxAttempts) throw authError(exchange, response, body, attempt);
      await pause(exchange, backoffDelayMs(attempt, settings.retry), attempt, { status: 401 });
      continue;
    }
    if (isReturned(init, response.status)) return response;
    const body = await readErrorBody(response);
    if (attempt < settings.retry.maxAttempts && isRetriable(exchange, response.status, body)) {
      await pause(exchange, retryDelay(exchange, response, attempt), attempt, { status: response.status });
      continue;
    }
    throw new HttpError({
      method: exchange.method,
      url: shownUrl(exchange),
      status: response.status,
      statusText: response.statusText,
      detail: errorDetail(body),
      attempts: attempt,
    });
  }
}

function authError(exchange: Exchange, response: Response, body: string, attempts: number): HttpAuthError {
  return new HttpAuthError({
    method: exchange.method,
    url: shownUrl(exchange),
    status: response.status,
    statusText: response.statusText,
    detail: errorDetail(body),
    attempts,
  });
}

/** What the caller gets back rather than an error: 2xx, what it accepts, a 3xx it handles itself. */
function isReturned(init: HttpRequest, status: number): boolean {
  if (status >= 200 && status < 300) return true;
  if (init.accept?.includes(status)) return true;
  return init.redirect === 'manual' && isRedirectStatus(status);
}

/**
 * A request that never got an answer: abort at once, retry a network failure, rethrow the rest.
 * Every failure of fetch itself (undici's `TypeError: fetch failed`, retried or not: a name
 * that does not resolve, a TLS error) becomes an HttpNetworkError naming the request and the
 * underlying code, rather than a bare TypeError with no URL.
 */
async function handleSendFailure(exchange: Exchange, error: unknown, attempt: number): Promise<void> {
  const { init, settings } = exchange;
  if (init.signal?.aborted) throw abortReason(init.signal);
  // Our own errors (a refused origin, a failed token request that already had its retries) are final.
  if (error instanceof FhirEtlError) throw error;
  const reason = networkErrorCode(error);
  if (reason === undefined) {
    const failure = fetchFailureReason(error);
    if (failure === undefined) throw error;
    const notRetried = 'not a transient network failure';
    throw new HttpNetworkError(
      { method: exchange.method, url: shownUrl(exchange), attempts: attempt, reason: failure, notRetried },
      error,
    );
  }
  const details = { method: exchange.method, url: shownUrl(exchange), attempts: attempt, reason };
  if (!isSafeToResend(exchange, error)) {
    const unsafe =
      init.idempotent === false
        ? 'this request is not safe to repeat'
        : `${exchange.method} is not idempotent`;
    const notRetried = `the server may have received it, and ${unsafe}`;
    throw new HttpNetworkError({ ...details, notRetried }, error);
  }
  if (attempt >= settings.retry.maxAttempts) throw new HttpNetworkError(details, error);
  await pause(exchange, backoffDelayMs(attempt, settings.retry), attempt, { error: reason });
}

/**
 * Whether a request that failed in the network may go again: always when repeating it is
 * harmless, else only when it provably never reached the server. A POST whose answer was lost
 * may have been committed; sending it again would create twice (or start a second export).
 */
function isSafeToResend({ method, init }: Exchange, error: unknown): boolean {
  return (init.idempotent ?? IDEMPOTENT_METHODS.has(method)) || neverReachedServer(error);
}

/**
 * 429 always; a 5xx whose OperationOutcome says `transient` (only this request failed);
 * any other 5xx only when repeating the request is safe (GET and HEAD, unless told otherwise).
 *
 * @see Bulk Data STU2 export.html#response---error-status-1
 */
function isRetriable({ method, init }: Exchange, status: number, body: string): boolean {
  if (status === 429) return true;
  if (status < 500) return false;
  return isTransientOutcome(body) || (init.retryServerErrors ?? (method === 'GET' || method === 'HEAD'));
}

/** The server's Retry-After, clamped (and logged, since hours usually mean a server bug), else backoff. */
function retryDelay(exchange: Exchange, response: Response, attempt: number): number {
  const { settings, method } = exchange;
  const header = response.headers.get('retry-after');
  const asked = retryAfterMs(header, settings.now());
  if (asked === undefined) return backoffDelayMs(attempt, settings.retry);
  if (asked <= settings.retry.maxRetryAfterMs) return asked;
  settings.logger?.warn(
    {
      event: 'http.retry_after_clamped',
      method,
      url: shownUrl(exchange),
      retryAfter: header,
      waitMs: settings.retry.maxRetryAfterMs,
    },
    `${method} ${shownUrl(exchange)} asked to retry after "${header}"; waiting ${settings.retry.maxRetryAfterMs} ms instead`,
  );
  return settings.retry.maxRetryAfterMs;
}

async function pause(
  exchange: Exchange,
  ms: number,
  attempt: number,
  why: { status?: number; error?: string },
): Promise<void> {
  const { settings, method, init } = exchange;
  const url = shownUrl(exchange);
  settings.logger?.info(
    { event: 'http.retry', method, url, attempt, waitMs: ms, ...why },
    `retrying ${method} ${url} in ${ms} ms`,
  );
  await settings.sleep(ms, init.signal);
}

/** The request URL as logs and errors show it: the caller's displayUrl, else redactUrl. */
function shownUrl({ url, init }: Exchange): string {
  return (init.displayUrl ?? redactUrl)(url);
}

/** Sends once, with the bearer token when asked: only to an allowed origin, and refreshed per attempt. */
async function send(exchange: Exchange): Promise<{ response: Response; token?: string }> {
  const { url, init } = exchange;
  const follow = (init.redirect ?? 'follow') === 'follow';
  if (!init.auth) {
    const response = await fetchWithTimeout(
      exchange,
      url,
      requestInit(exchange, follow ? 'follow' : 'manual'),
    );
    return { response: await refuseRedirect(exchange, response) };
  }
  // Checked before the token is even fetched: a refused origin costs no token request either.
  assertTokenOrigin(url, init.auth.allowedOrigins, undefined, init.displayUrl);
  const token = await init.auth.provider.token();
  const response = follow
    ? await followRedirectsWithToken(exchange, token)
    : await fetchWithTimeout(exchange, url, requestInit(exchange, 'manual', token));
  return { response: await refuseRedirect(exchange, response), token };
}

/** With `redirect: 'error'`, a 3xx fails the request (final, not retried); otherwise it passes. */
async function refuseRedirect(exchange: Exchange, response: Response): Promise<Response> {
  if (exchange.init.redirect !== 'error' || !isRedirectStatus(response.status)) return response;
  const location = redirectTarget(response, exchange.url, exchange.init.displayUrl);
  await discardBody(response);
  throw new HttpRedirectError({
    method: exchange.method,
    url: shownUrl(exchange),
    status: response.status,
    ...(location === undefined ? {} : { location }),
  });
}

/**
 * fetch would forward the Authorization header across origins on a redirect; with a token we
 * follow redirects ourselves, each hop checked against the allowed origins first.
 *
 * @see RFC 9110 section 15.4 (a 303, and a 301/302 after POST, continue as GET)
 */
async function followRedirectsWithToken(exchange: Exchange, token: string): Promise<Response> {
  const allowedOrigins = (exchange.init.auth as BearerAuth).allowedOrigins;
  const { displayUrl } = exchange.init;
  let current = exchange.url;
  let init = requestInit(exchange, 'manual', token);
  for (let hop = 0; ; hop++) {
    const response = await fetchWithTimeout(exchange, current, init);
    const location = isRedirectStatus(response.status) ? response.headers.get('location') : null;
    if (location === null || hop === MAX_REDIRECTS) return response;
    const next = new URL(location, current);
    await discardBody(response);
    assertTokenOrigin(next, allowedOrigins, current, displayUrl);
    if (
      response.status === 303 ||
      ((response.status === 301 || response.status === 302) && init.method === 'POST')
    ) {
      init = asGet(init);
    }
    current = next;
  }
}

function requestInit(
  { settings, method, init }: Exchange,
  redirect: 'follow' | 'manual',
  token?: string,
): RequestInit & { method: string; headers: Headers } {
  const headers = new Headers(init.headers);
  if (!headers.has('user-agent')) headers.set('user-agent', settings.userAgent);
  if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
  return { method, headers, body: init.body, redirect, signal: init.signal };
}

function asGet(init: RequestInit & { headers: Headers }): RequestInit & { method: string; headers: Headers } {
  const headers = new Headers(init.headers);
  headers.delete('content-type');
  return { ...init, method: 'GET', headers, body: undefined };
}

/**
 * fetch with a deadline for the response headers only: once they arrive the caller may stream
 * the body as long as it needs. A missed deadline is a network failure (retried), unlike the
 * caller's own abort.
 */
async function fetchWithTimeout({ settings }: Exchange, url: URL, init: RequestInit): Promise<Response> {
  const deadline = new AbortController();
  const headersCame = new AbortController();
  settings.headersDeadline(settings.timeoutMs, headersCame.signal).then(
    () =>
      deadline.abort(new DOMException(`no response headers within ${settings.timeoutMs} ms`, 'TimeoutError')),
    // Cut short: the headers came (or the request failed) first.
    () => undefined,
  );
  const signal = init.signal ? AbortSignal.any([init.signal, deadline.signal]) : deadline.signal;
  try {
    return await fetch(url, { ...init, signal });
  } finally {
    headersCame.abort();
  }
}
