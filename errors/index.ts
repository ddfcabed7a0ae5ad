/**
 * The base of every error a user can meet. Each folder defines its own subclasses
 * (loaders/errors.ts, transforms/errors.ts, ...) with a stable `code` and the context
 * needed to act on it: the file and line, the view and column, the URL.
 */
export class FhirEtlError extends Error {
  readonly code: string;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(
    message: string,
    options: { code: string; context?: Record<string, unknown>; cause?: unknown },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.context = options.context ?? {};
  }
}

/** The message of any thrown value, for logs and run records. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
