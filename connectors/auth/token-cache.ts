import type { TokenProvider } from './token-provider.ts';

/** An access token as the token endpoint issued it. */
export interface IssuedToken {
  accessToken: string;
  /** Seconds; absent when the server did not say. */
  expiresIn?: number;
  /**
   * The Patient the token is for, when the server says (SMART launch context `patient`): a
   * member-scoped send token names the member's Patient id.
   */
  patient?: string;
}

export interface TokenCacheOptions {
  /** Epoch ms; injected for tests. */
  now?: () => number;
}

/**
 * A server that does not say how long its token lasts gets SMART's recommended maximum
 * lifetime; a 401 renews the token earlier if the guess was long.
 *
 * @see SMART App Launch 2.2.0 backend-services.html#response (expires_in SHOULD be <= 300)
 */
const ASSUMED_LIFETIME_MS = 300_000;
const MIN_RENEWAL_MARGIN_MS = 30_000;

/**
 * A TokenProvider around a function that obtains a new token: the token is reused until less
 * than max(30 s, 10% of its lifetime) remains, so a request never leaves with a token about to
 * expire in flight. Concurrent callers share one renewal (single-flight); a failed renewal is
 * not cached, the next call tries again.
 */
export function cachedTokenProvider(
  obtain: () => Promise<IssuedToken>,
  options: TokenCacheOptions = {},
): TokenProvider {
  const now = options.now ?? Date.now;
  let current: { accessToken: string; renewAt: number } | undefined;
  let renewal: Promise<string> | undefined;

  async function renew(): Promise<string> {
    const issuedAt = now();
    const issued = await obtain();
    current = { accessToken: issued.accessToken, renewAt: renewalTime(issuedAt, issued.expiresIn) };
    return issued.accessToken;
  }

  return {
    token() {
      if (current && now() < current.renewAt) return Promise.resolve(current.accessToken);
      renewal ??= renew().finally(() => {
        renewal = undefined;
      });
      return renewal;
    },
    invalidate(token) {
      // A 401 on a token already replaced (by a concurrent request's renewal) must not
      // throw away the fresh one.
      if (current?.accessToken === token) current = undefined;
    },
  };
}

/**
 * When to renew: max(30 s, 10%) before expiry, measured from when the request was sent (the
 * server's clock started no later). The margin is at most half the lifetime, so a token
 * that lasts under a minute is still used for a while instead of renewed on every call.
 */
export function renewalTime(issuedAt: number, expiresInSeconds: number | undefined): number {
  const lifetime = expiresInSeconds !== undefined ? expiresInSeconds * 1000 : ASSUMED_LIFETIME_MS;
  const margin = Math.min(Math.max(MIN_RENEWAL_MARGIN_MS, lifetime * 0.1), lifetime / 2);
  return issuedAt + lifetime - margin;
}
