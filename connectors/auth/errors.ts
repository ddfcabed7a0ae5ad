import { FhirEtlError } from '../../errors/index.ts';

/**
 * The token endpoint refused us or answered nonsense. The message names the token URL and the
 * server's OAuth `error` and `error_description`; never the client secret, the assertion or a token.
 *
 * @see RFC 6749 section 5.2 (error response)
 */
export class AuthError extends FhirEtlError {
  constructor(
    message: string,
    details: { tokenUrl: string; status?: number; error?: string; errorDescription?: string },
    cause?: unknown,
  ) {
    super(message, { code: 'AUTH_FAILED', context: details, cause });
  }
}

/** The private key file is missing, unreadable, or holds no key that fits the configured algorithm and kid. */
export class PrivateKeyError extends FhirEtlError {
  constructor(file: string, problem: string, cause?: unknown) {
    super(`private key ${file}: ${problem}`, { code: 'PRIVATE_KEY_INVALID', context: { file }, cause });
  }
}

/** `.well-known/smart-configuration` could not be read or has no usable token endpoint. */
export class SmartConfigurationError extends FhirEtlError {
  constructor(url: string, problem: string, cause?: unknown) {
    super(`SMART configuration ${url}: ${problem}`, {
      code: 'SMART_CONFIGURATION_INVALID',
      context: { url },
      cause,
    });
  }
}
