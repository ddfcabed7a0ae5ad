import { TokenOriginError } from './errors.ts';
import { redactUrl } from './redact-url.ts';

/**
 * The origin (scheme://host[:port]) of a URL, normalised the WHATWG way: lower-case host,
 * default port dropped, so `https://Fhir.example.com:443/r4` and `https://fhir.example.com`
 * are the same origin. A bare host (`cdn.example.com`, as config `tokenHosts` lists them)
 * means its https origin.
 */
export function originOf(url: string | URL): string {
  if (url instanceof URL) return url.origin;
  return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `https://${url}`).origin;
}

/**
 * Refuses, before anything is sent, a request that would carry the bearer token to an origin
 * not on the allow-list: exact scheme, host and port, no subdomain or "same site" leniency.
 * A manifest or a redirect pointing elsewhere must never be a way to leak the token.
 *
 * URLs in the error are shown with `displayUrl` (default redactUrl).
 *
 * @see Bulk Data STU3 export.html#file-request (send the token only when required, to the server)
 */
export function assertTokenOrigin(
  url: URL,
  allowedOrigins: readonly string[],
  redirectedFrom?: URL,
  displayUrl: (url: URL) => string = redactUrl,
): void {
  const allowed = allowedOrigins.map(originOf);
  if (allowed.includes(url.origin)) return;
  throw new TokenOriginError({
    url: displayUrl(url),
    origin: url.origin,
    allowedOrigins: allowed,
    redirectedFrom: redirectedFrom ? displayUrl(redirectedFrom) : undefined,
  });
}
