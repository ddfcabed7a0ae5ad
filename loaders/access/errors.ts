import { FhirEtlError } from '../../errors/index.ts';

/** Where the docs explain read-only access, named by every message below. */
const DOCS = 'docs/operations.md#read-only-access-for-bi-tools';

/** A role that cannot be given read-only access as asked (exit 2: nothing was granted). */
export class ReaderRoleError extends FhirEtlError {
  static missing(role: string): ReaderRoleError {
    return new ReaderRoleError(
      `role ${role} does not exist in the warehouse: create a login role for BI tools first ` +
        `(CREATE ROLE ${role} LOGIN PASSWORD '...'), then grant it read access again (${DOCS})`,
      'READER_ROLE_MISSING',
      role,
    );
  }

  static privileged(role: string, why: string): ReaderRoleError {
    return new ReaderRoleError(
      `role ${role} ${why}, so it would read fhir_etl's tokens and secrets whatever is granted: ` +
        `give BI tools an ordinary login role of their own (CREATE ROLE bi_reader LOGIN PASSWORD '...'; ${DOCS})`,
      'READER_ROLE_PRIVILEGED',
      role,
    );
  }

  static viewSchema(schema: string): ReaderRoleError {
    return new ReaderRoleError(
      `the view schema is ${schema}, which read-only roles never read: set warehouse.schema to a schema of its own (the default is fhir)`,
      'READER_SCHEMA_REFUSED',
      schema,
    );
  }

  private constructor(message: string, code: string, subject: string) {
    super(message, { code, context: { subject }, kind: 'input' });
  }
}

/**
 * The read-only URL of a warehouse of the user's own is not known to fhir-etl: the user
 * creates the login role (its password is theirs) and names its URL in the config.
 */
export class NoReaderUrlError extends FhirEtlError {
  constructor(displayUrl: string) {
    super(
      `no read-only URL is configured for the warehouse ${displayUrl}: create a login role for BI tools ` +
        `(CREATE ROLE bi_reader LOGIN PASSWORD '...'), run \`fhir-etl db grant-read bi_reader\`, and set ` +
        `warehouse.readerUrl in the config (for example \${BI_DATABASE_URL}) to its URL (${DOCS})`,
      { code: 'NO_READER_URL', context: { url: displayUrl }, kind: 'input' },
    );
  }
}
