import type { Logger } from 'pino';
import type { TokenProvider } from '../auth/token-provider.ts';

/** How hard the client retries what a server may answer later: 429, transient 5xx, network errors. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** First backoff; doubled each time (with jitter) up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this (hours, or an epoch timestamp read as seconds) is clamped, and logged. */
  maxRetryAfterMs: number;
}

/** The bearer token a request may carry, and the only origins allowed to receive it. */
export interface BearerAuth {
  provider: TokenProvider;
  /** Origins (scheme://host:port) that issued or serve with the token: the FHIR server's, plus an explicit allow-list. */
  allowedOrigins: string[];
}

export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | URLSearchParams;
  /** Send the bearer token. A URL outside auth.allowedOrigins fails with TokenOriginError before any byte is sent. */
  auth?: BearerAuth;
  /** Aborts waiting and the request (graceful shutdown). */
  signal?: AbortSignal;
  /** Statuses returned to the caller instead of thrown (e.g. 202 while an export runs, 404, 410). 2xx are always returned. */
  accept?: number[];
  /** Retry 5xx that do not say `transient` too (safe for GET). Default: true for GET and HEAD. */
  retryServerErrors?: boolean;
  /**
   * Whether sending the request twice does no more than sending it once, so a network error
   * after it may have reached the server (a reset, a headers timeout) can be retried. Default:
   * true for GET, HEAD, PUT, DELETE and OPTIONS. Otherwise (a POST) only failures that prove
   * the request never left (connection refused, DNS, connect timeout) are retried: a lost
   * answer to a create or a Bulk kick-off must not create a second one. Set it for requests
   * that are safe to repeat whatever their method: a token request, a conditional create.
   */
  idempotent?: boolean;
  /**
   * What to do with a 3xx. `follow` (default) follows it; with `auth`, hop by hop within the
   * allowed origins. `manual` returns the 3xx to the caller, never following it. `error` throws
   * HttpRedirectError. Requests carrying credentials in their body (token requests) must not
   * use `follow`: a 307/308 would send that body again to wherever Location points.
   */
  redirect?: 'follow' | 'manual' | 'error';
  /**
   * How this request's URL appears in the client's log lines and errors. Default: redactUrl
   * (credential query parameters hidden, the path kept). A URL that is itself a capability (a
   * Bulk status URL, whose path holds the job id) passes a redactor that hides the path too.
   */
  displayUrl?: (url: URL) => string;
}

export interface HttpClientOptions {
  retry?: Partial<RetryPolicy>;
  /** Per-request timeout for the headers to arrive. */
  timeoutMs?: number;
  userAgent?: string;
  logger?: Logger;
  /** Injected for tests; defaults to a timer that the request's signal can cut short. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Resolves when a request's headers deadline (`timeoutMs`) passes; `signal` aborts when the
   * headers came first. Injected for tests (a deadline that passes on an event, not on the
   * clock of a busy machine); defaults to a timer.
   */
  headersDeadline?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The clock an HTTP-date Retry-After is measured against (epoch ms); injected for tests. */
  now?: () => number;
}

/**
 * The one HTTP layer every connector uses. `request` resolves with the final Response (whose
 * body the caller streams), after retrying 429 (honouring Retry-After in seconds or as an
 * HTTP-date, clamped), 5xx whose OperationOutcome says `transient` (and any 5xx for GET),
 * and network errors (for a non-idempotent request, only those before it was sent); a 401
 * with a token renews the token once and retries, even when 401 is accepted. Anything else
 * throws HttpError with the URL, the status and the server's OperationOutcome diagnostics.
 */
export interface HttpClient {
  request(url: string | URL, init?: HttpRequest): Promise<Response>;
  /** GET (or the given method) and parse JSON; errors as `request`. */
  json<T = unknown>(url: string | URL, init?: HttpRequest): Promise<{ response: Response; body: T }>;
}
