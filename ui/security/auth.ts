import { createHash, timingSafeEqual } from 'node:crypto';
import { ConsoleAuthConfigError, ConsoleAuthRequiredError } from '../errors.ts';
import { isLoopback } from './loopback.ts';

/**
 * Who may use the console when it listens beyond loopback: a bearer token (for a proxy or a
 * script) and/or a basic-auth user (for a browser), both from the environment, never the
 * command line (which `ps` shows) or the config file.
 */
export interface ConsoleAuth {
  bearerToken?: string;
  basic?: { user: string; password: string };
}

export const AUTH_ENV = {
  token: 'FHIR_ETL_UI_TOKEN',
  user: 'FHIR_ETL_UI_USER',
  password: 'FHIR_ETL_UI_PASSWORD',
} as const;

const MIN_TOKEN = 16;
const MIN_PASSWORD = 12;

/** The console's authentication from the environment; undefined when none is set. */
export function consoleAuthFromEnv(env: NodeJS.ProcessEnv = process.env): ConsoleAuth | undefined {
  const token = env[AUTH_ENV.token];
  const user = env[AUTH_ENV.user];
  const password = env[AUTH_ENV.password];
  if (token !== undefined && token.length < MIN_TOKEN) {
    throw new ConsoleAuthConfigError(
      `${AUTH_ENV.token} must be at least ${MIN_TOKEN} characters`,
      AUTH_ENV.token,
    );
  }
  if ((user === undefined) !== (password === undefined)) {
    throw new ConsoleAuthConfigError(
      `basic auth needs both ${AUTH_ENV.user} and ${AUTH_ENV.password}`,
      user === undefined ? AUTH_ENV.user : AUTH_ENV.password,
    );
  }
  if (password !== undefined && password.length < MIN_PASSWORD) {
    throw new ConsoleAuthConfigError(
      `${AUTH_ENV.password} must be at least ${MIN_PASSWORD} characters`,
      AUTH_ENV.password,
    );
  }
  if (user !== undefined && user.includes(':')) {
    throw new ConsoleAuthConfigError(`${AUTH_ENV.user} cannot contain ':' (RFC 7617)`, AUTH_ENV.user);
  }
  const auth: ConsoleAuth = {
    ...(token ? { bearerToken: token } : {}),
    ...(user && password ? { basic: { user, password } } : {}),
  };
  return auth.bearerToken || auth.basic ? auth : undefined;
}

/** Refuses to serve beyond loopback without authentication (exit 2, before listening). */
export function requireAuthBeyondLoopback(host: string, auth: ConsoleAuth | undefined): void {
  if (!auth && !isLoopback(host)) throw new ConsoleAuthRequiredError(host);
}

/**
 * The viewer an Authorization header proves, or null. Secrets are compared as SHA-256 digests
 * with timingSafeEqual: equal lengths, and the time taken says nothing about the secret.
 * @see RFC 6750 section 2.1 (Bearer), RFC 7617 section 2 (Basic)
 */
export function authenticate(header: string | undefined, auth: ConsoleAuth): string | null {
  if (!header) return null;
  const [scheme, credentials = ''] = header.trim().split(/\s+/, 2);
  if (auth.bearerToken && scheme?.toLowerCase() === 'bearer') {
    return sameSecret(credentials, auth.bearerToken) ? 'bearer token' : null;
  }
  if (auth.basic && scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(credentials, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    const userOk = sameSecret(decoded.slice(0, colon), auth.basic.user);
    const passwordOk = sameSecret(decoded.slice(colon + 1), auth.basic.password);
    return userOk && passwordOk ? auth.basic.user : null;
  }
  return null;
}

/** The WWW-Authenticate challenge of a refused request: Basic lets a browser ask for a login. */
export function challenge(auth: ConsoleAuth): string {
  return auth.basic ? 'Basic realm="fhir-etl console", charset="UTF-8"' : 'Bearer realm="fhir-etl console"';
}

function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}
