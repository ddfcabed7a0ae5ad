import { FhirEtlError } from '../../errors/index.ts';

/** The bytes of an input could not be read as NDJSON at all (as opposed to one bad line). */
export class NdjsonReadError extends FhirEtlError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'NDJSON_UNREADABLE', cause });
  }
}
