/**
 * What an error says about the command that met it, for its exit code:
 * - `input`: the command line, the config, a ViewDefinition or an input (a file, a resource to
 *   send) is wrong, found before anything was loaded or sent: the user fixes it and runs again
 *   (exit 2);
 * - `failure`: a run failed on its data or on a server (exit 1);
 * - `skipped`: nothing was done, on purpose (another process is running the source) (exit 3).
 */
export type ErrorKind = 'input' | 'failure' | 'skipped';

/**
 * The base of every error a user can meet. Each folder defines its own subclasses
 * (loaders/errors.ts, transforms/errors.ts, ...) with a stable `code`, the context needed to
 * act on it (the file and line, the view and column, the URL), and its `kind`.
 */
export class FhirEtlError extends Error {
  readonly code: string;
  readonly context: Readonly<Record<string, unknown>>;
  readonly kind: ErrorKind;

  constructor(
    message: string,
    options: { code: string; context?: Record<string, unknown>; cause?: unknown; kind?: ErrorKind },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.context = options.context ?? {};
    this.kind = options.kind ?? 'failure';
  }
}

/** The message of any thrown value, for logs and run records. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
