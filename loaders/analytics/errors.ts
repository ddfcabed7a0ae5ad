import { FhirEtlError } from '../../errors/index.ts';

/** A mart this version changes is read by views of the user's, which PostgreSQL will not drop. */
export class MartBlockedError extends FhirEtlError {
  constructor(mart: string, detail: string, cause: unknown) {
    super(
      `the analytics mart ${mart} changes in this version of fhir-etl, and objects of yours depend on it (${detail}): ` +
        'drop them (keep their definitions), run again, then create them again over the new mart',
      { code: 'MART_BLOCKED', context: { mart }, cause, kind: 'input' },
    );
  }
}
