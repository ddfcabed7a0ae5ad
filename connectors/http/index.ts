/**
 * The shared HTTP layer: one client with the retry, Retry-After, token-origin and redirect
 * rules every connector needs, plus the pieces other protocol code reuses (Retry-After and
 * OperationOutcome reading, URL redaction, the origin check).
 */
export { createHttpClient, DEFAULT_RETRY_POLICY } from './client.ts';
export {
  AbortError,
  HttpAuthError,
  HttpError,
  HttpNetworkError,
  HttpRedirectError,
  InvalidJsonBodyError,
  TokenOriginError,
} from './errors.ts';
export { backoffDelayMs } from './backoff.ts';
export { isTransientOutcome, operationOutcomeText } from './operation-outcome.ts';
export { redactUrl } from './redact-url.ts';
export { errorDetail, readErrorBody, discardBody, parseJsonBody } from './response-body.ts';
export { retryAfterMs } from './retry-after.ts';
export { abortReason, sleep } from './sleep.ts';
export { assertTokenOrigin, originOf } from './token-origin.ts';
export { isRedirectStatus, redirectTarget } from './redirect.ts';
export { USER_AGENT } from './user-agent.ts';
export type { BearerAuth, HttpClient, HttpClientOptions, HttpRequest, RetryPolicy } from './types.ts';
