import { redactUrl } from './redact-url.ts';

/** The statuses that carry a Location to go to instead (304 Not Modified is not one). */
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export function isRedirectStatus(status: number): boolean {
  return REDIRECT_STATUSES.has(status);
}

/**
 * Where a redirect points, resolved against the request URL and redacted, for a message that
 * says where we did not go. Undefined without a Location (or with one that is not a URL).
 */
export function redirectTarget(
  response: Response,
  requestUrl: string | URL,
  displayUrl: (url: URL) => string = redactUrl,
): string | undefined {
  const location = response.headers.get('location');
  if (location === null) return undefined;
  try {
    return displayUrl(new URL(location, requestUrl));
  } catch {
    return undefined;
  }
}
