import { FhirEtlError } from '../errors/index.ts';

/** 0 ok, 1 the run failed, 2 the command line or config is wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends FhirEtlError {
  constructor(message: string) {
    super(message, { code: 'USAGE' });
  }
}
