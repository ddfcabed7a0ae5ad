import { FhirEtlError } from '../../errors/index.ts';

/**
 * A server answered with a status the caller did not accept, after the retries it deserved.
 * The message names the method, the URL (query secrets redacted) and the status, with the
 * server's own words: the OperationOutcome's diagnostics, or the start of a non-FHIR body.
 */
export class HttpError extends FhirEtlError {
  readonly status: number;

  constructor(
    details: {
      method: string;
      url: string;
      status: number;
      statusText?: string;
      detail?: string;
      attempts: number;
    },
    cause?: unknown,
    kind: { code: string; hint?: string } = { code: 'HTTP_ERROR' },
  ) {
    const status = details.statusText ? `${details.status} ${details.statusText}` : String(details.status);
    const tries = details.attempts > 1 ? ` (after ${details.attempts} attempts)` : '';
    const said = details.detail ? `: ${details.detail}` : '';
    const hint = kind.hint ? `; ${kind.hint}` : '';
    super(`${details.method} ${details.url} answered ${status}${tries}${said}${hint}`, {
      code: kind.code,
      context: details,
      cause,
    });
    this.status = details.status;
  }
}

/**
 * The server refused our token (401) every time, fresh tokens included, through the whole
 * retry budget: an authentication problem (wrong client, scope or clock; a server revoking
 * tokens), never the server's verdict on what was asked. A Bulk export stays resumable.
 */
export class HttpAuthError extends HttpError {
  constructor(details: ConstructorParameters<typeof HttpError>[0]) {
    super(details, undefined, {
      code: 'HTTP_UNAUTHORIZED',
      hint: 'a fresh token was refused too: check the client, its scope and the server',
    });
  }
}

/**
 * The server could not be reached or dropped the connection, every attempt; the last network
 * error is the cause. `notRetried` says why a failure was not retried (a POST that may have
 * reached the server), so nobody goes looking for a retry policy that never ran.
 */
export class HttpNetworkError extends FhirEtlError {
  constructor(
    details: { method: string; url: string; attempts: number; reason: string; notRetried?: string },
    cause: unknown,
  ) {
    const why = details.notRetried ? `; not retried: ${details.notRetried}` : '';
    super(
      `${details.method} ${details.url} failed (${details.reason}) after ${details.attempts} attempt(s)${why}`,
      {
        code: 'HTTP_NETWORK_ERROR',
        context: details,
        cause,
      },
    );
  }
}

/**
 * A request that would carry the bearer token was going to an origin the token is not meant
 * for (a foreign file host, a redirect elsewhere). Nothing was sent there.
 */
export class TokenOriginError extends FhirEtlError {
  constructor(details: { url: string; origin: string; allowedOrigins: string[]; redirectedFrom?: string }) {
    const host = new URL(details.origin).host;
    const how = details.redirectedFrom ? `a redirect from ${details.redirectedFrom} to ${host}` : host;
    super(
      `refused to send the bearer token to ${how}: ${details.origin} is not one of the token's allowed origins ` +
        `(${details.allowedOrigins.join(', ') || 'none'}); the token was not sent`,
      { code: 'TOKEN_ORIGIN_REFUSED', context: details },
    );
  }
}

/**
 * The server answered a request sent with `redirect: 'error'` with a redirect. It was not
 * followed: nothing went to the Location.
 */
export class HttpRedirectError extends FhirEtlError {
  readonly status: number;

  constructor(details: { method: string; url: string; status: number; location?: string }) {
    const to = details.location ? ` to ${details.location}` : '';
    super(`${details.method} ${details.url} answered ${details.status} redirecting${to}; not followed`, {
      code: 'HTTP_UNEXPECTED_REDIRECT',
      context: details,
    });
    this.status = details.status;
  }
}

/** A response that should have been JSON was not. */
export class InvalidJsonBodyError extends FhirEtlError {
  constructor(details: { method: string; url: string; status: number; excerpt: string }, cause: unknown) {
    super(
      `${details.method} ${details.url} answered ${details.status} with a body that is not JSON: ${details.excerpt}`,
      {
        code: 'HTTP_INVALID_JSON',
        context: details,
        cause,
      },
    );
  }
}

/**
 * The caller's signal aborted (graceful shutdown): the wait or request stopped at once. A real
 * Error named `AbortError` (the DOMException fetch uses is not one in every tool), with the
 * signal's reason as the cause.
 */
export class AbortError extends FhirEtlError {
  constructor(reason?: unknown) {
    super('the operation was aborted', { code: 'ABORTED', cause: reason });
  }
}
