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
}

export interface HttpClientOptions {
  retry?: Partial<RetryPolicy>;
  /** Per-request timeout for the headers to arrive. */
  timeoutMs?: number;
  userAgent?: string;
  logger?: Logger;
  /** Injected for tests; defaults to a timer that the request's signal can cut short. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The clock an HTTP-date Retry-After is measured against (epoch ms); injected for tests. */
  now?: () => number;
}

/**
 * The one HTTP layer every connector uses. `request` resolves with the final Response (whose
 * body the caller streams), after retrying 429 (honouring Retry-After in seconds or as an
 * HTTP-date, clamped), 5xx whose OperationOutcome says `transient` (and any 5xx for GET),
 * and network errors; a 401 with a token renews the token once and retries. Anything else
 * throws HttpError with the URL, the status and the server's OperationOutcome diagnostics.
 */
export interface HttpClient {
  request(url: string | URL, init?: HttpRequest): Promise<Response>;
  /** GET (or the given method) and parse JSON; errors as `request`. */
  json<T = unknown>(url: string | URL, init?: HttpRequest): Promise<{ response: Response; body: T }>;
}
