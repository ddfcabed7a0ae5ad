import { FhirEtlError } from '../errors/index.ts';

/** A `--faults` list named a fault the sandbox does not know. */
export class UnknownFaultError extends FhirEtlError {
  constructor(name: string) {
    super(
      `unknown fault "${name}": expected any of 429, 500, 410, token-expiry, slow, malformed, truncated-gzip, bad-values`,
      { code: 'SANDBOX_UNKNOWN_FAULT', context: { fault: name }, kind: 'input' },
    );
  }
}

/**
 * A token or authorization request the sandbox refuses, answered as RFC 6749 JSON
 * `{ error, error_description }`.
 * @see RFC 6749 section 5.2 (token endpoint errors)
 */
export class OAuthError extends FhirEtlError {
  readonly status: number;
  readonly error: string;

  constructor(error: string, description: string, status = 400) {
    super(description, { code: `SANDBOX_OAUTH_${error.toUpperCase()}`, context: { error, status } });
    this.error = error;
    this.status = status;
  }
}

/**
 * A FHIR request the sandbox refuses, answered as an OperationOutcome.
 * @see FHIR R4 http.html#errors and operationoutcome.html
 */
export class FhirRequestError extends FhirEtlError {
  readonly status: number;
  readonly issueCode: string;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, issueCode: string, diagnostics: string, headers: Record<string, string> = {}) {
    super(diagnostics, { code: `SANDBOX_FHIR_${status}`, context: { status, issueCode } });
    this.status = status;
    this.issueCode = issueCode;
    this.headers = headers;
  }

  /** The OperationOutcome body. */
  outcome(): OperationOutcome {
    return operationOutcome(this.issueCode, this.message);
  }
}

export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: Array<{ severity: string; code: string; diagnostics: string }>;
}

export function operationOutcome(code: string, diagnostics: string, severity = 'error'): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics }] };
}

/** The sandbox's listener could not start (port in use, ...). */
export class SandboxStartError extends FhirEtlError {
  constructor(message: string, context: Record<string, unknown>, cause?: unknown) {
    super(message, { code: 'SANDBOX_START_FAILED', context, cause });
  }
}

/**
 * An authorization request that cannot be redirected back (unknown client, unregistered
 * redirect_uri): shown to the person as a 400 page, never sent to an unverified redirect.
 * @see RFC 6749 section 4.1.2.1
 */
export class AuthorizePageError extends FhirEtlError {
  constructor(message: string) {
    super(message, { code: 'SANDBOX_AUTHORIZE_REFUSED' });
  }
}
