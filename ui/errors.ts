import { FhirEtlError } from '../errors/index.ts';

/** The console cannot start as asked: bound beyond loopback without authentication. */
export class ConsoleAuthRequiredError extends FhirEtlError {
  constructor(host: string) {
    super(
      `the console would listen on ${host}, which other machines can reach, without authentication: ` +
        'set FHIR_ETL_UI_TOKEN (a bearer token) or FHIR_ETL_UI_USER and FHIR_ETL_UI_PASSWORD (basic auth), ' +
        'or keep the default --host 127.0.0.1',
      { code: 'UI_AUTH_REQUIRED', context: { host }, kind: 'input' },
    );
  }
}

/** The console's authentication settings are incomplete or too weak. */
export class ConsoleAuthConfigError extends FhirEtlError {
  constructor(message: string, variable: string) {
    super(message, { code: 'UI_AUTH_CONFIG', context: { variable }, kind: 'input' });
  }
}

/**
 * The role the console reads through can read fhir_etl.credentials (sealed member tokens):
 * it is the loader or a superuser, not the read-only role the console must use.
 */
export class ConsoleRoleTooStrongError extends FhirEtlError {
  constructor(role: string) {
    super(
      `the console refuses to read the warehouse as ${role}: that role can read fhir_etl.credentials. ` +
        'Give it the read-only role (`fhir-etl db url --read-only`, or a role from `fhir-etl db grant-read ROLE`)',
      { code: 'UI_ROLE_TOO_STRONG', context: { role }, kind: 'input' },
    );
  }
}

/** The console's role cannot read what its pages show (grants missing). */
export class ConsoleRoleGrantsError extends FhirEtlError {
  constructor(role: string, missing: string[]) {
    super(
      `the console's role ${role} cannot read ${missing.join(', ')}: grant them with \`fhir-etl db grant-read ${role} --raw\``,
      { code: 'UI_ROLE_GRANTS', context: { role, missing }, kind: 'input' },
    );
  }
}

export class ConsoleListenError extends FhirEtlError {
  constructor(host: string, port: number, cause: unknown) {
    super(`cannot serve the console on ${host}:${port}: ${(cause as Error)?.message ?? String(cause)}`, {
      code: 'UI_LISTEN',
      context: { host, port },
      cause,
      kind: 'input',
    });
  }
}
