import { FhirEtlError } from '../errors/index.ts';

/**
 * The exit codes of every command (README, docs/operations.md): 0 ok; 1 a run failed (its
 * data, or a server); 2 the command line, the config, a ViewDefinition or an input is wrong,
 * found before anything was loaded or sent; 3 skipped: another process is running the source,
 * so nothing was done (not a failure: schedulers and alerts should not retry or fire on it).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, skipped: 3 } as const;

/** The exit code an error ends a command with, by its kind. */
export function exitCodeOf(error: FhirEtlError): number {
  switch (error.kind) {
    case 'input':
      return EXIT.usage;
    case 'skipped':
      return EXIT.skipped;
    case 'failure':
      return EXIT.failed;
  }
}

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends FhirEtlError {
  constructor(message: string) {
    super(message, { code: 'USAGE', kind: 'input' });
  }
}
