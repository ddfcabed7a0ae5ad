import type { AuthorizationCodeClient } from './authorization-code-client.ts';
import { MemberLoginRequiredError } from './authorization-code-errors.ts';
import { AuthError } from './errors.ts';
import type { MemberTokens } from './authorization-code-tokens.ts';
import { processRefreshTokenResponse, type RefreshDeadline, refreshTokenGrantRequest } from './refresh.ts';
import type { TokenProvider } from './token-provider.ts';

/**
 * Where a member's tokens are kept (the encrypted credential store): read them, and renew
 * them under an exclusive lock so that two workers never both spend the same refresh token.
 */
export interface MemberTokenStore {
  read(): Promise<MemberTokens>;
  /**
   * Locks the member's tokens, re-reads them, and runs `renew` on what is stored now; what it
   * returns is saved before the lock is released (unless it is the object it was given). When
   * `renew` succeeded but saving or committing failed, the server may already have rotated the
   * stored refresh token out: the store saves the result again in a fresh transaction, only if
   * the stored value is still the one `renew` was given (compare-and-set), before it fails.
   */
  renew(renew: (current: MemberTokens) => Promise<MemberTokens>): Promise<MemberTokens>;
  /** Records that the member must log in again, and why (shown by `auth list` and `status`). */
  loginRequired(reason: string): Promise<void>;
}

export interface MemberTokenProviderOptions {
  client: AuthorizationCodeClient;
  store: MemberTokenStore;
  member: { source: string; patientId: string };
  /** Renew this long before the access token expires (default 60 s). */
  refreshBeforeMs?: number;
  /**
   * How long one refresh may take, retries included (default REFRESH_TIMEOUT_MS, 30 s): it runs
   * under the member's row lock, which a hung token endpoint must not hold for ever.
   */
  refreshTimeoutMs?: number;
  /** Measures refreshTimeoutMs (a timer by default); injected for tests. */
  refreshDeadline?: RefreshDeadline;
  now?: () => number;
}

/**
 * A TokenProvider over one member's stored tokens: the access token while it is fresh, else a
 * refresh whose result (a rotated refresh token included) is saved atomically under the lock.
 * The refresh request is bounded (refreshTimeoutMs) since it runs under that lock. A refresh
 * refused with invalid_grant marks the member as needing a new login.
 * @see SMART App Launch 2.2.0 app-launch.html#step-7-refresh-access-token
 */
export function memberTokenProvider(options: MemberTokenProviderOptions): TokenProvider {
  const now = options.now ?? Date.now;
  const refreshBeforeMs = options.refreshBeforeMs ?? 60_000;
  let current: MemberTokens | undefined;
  let refused: string | undefined;
  let renewal: Promise<MemberTokens> | undefined;

  const usable = (tokens: MemberTokens) =>
    tokens.accessToken !== refused &&
    (tokens.expiresAt === undefined || tokens.expiresAt - refreshBeforeMs > now());

  async function renew(): Promise<MemberTokens> {
    const stored = current ?? (await options.store.read());
    if (usable(stored)) return stored;
    try {
      // Another worker may have refreshed while we waited for the lock: then its tokens are used.
      return await options.store.renew(async (locked) => (usable(locked) ? locked : refresh(locked)));
    } catch (error) {
      if (error instanceof MemberLoginRequiredError) await options.store.loginRequired(error.message);
      throw error;
    }
  }

  async function refresh(tokens: MemberTokens): Promise<MemberTokens> {
    if (tokens.refreshToken === undefined) {
      throw new MemberLoginRequiredError({
        ...options.member,
        reason: 'the access token expired and the server issued no refresh token (ask for offline_access)',
      });
    }
    const response = await refreshTokenGrantRequest(options.client, tokens.refreshToken, {
      ...(options.refreshTimeoutMs === undefined ? {} : { timeoutMs: options.refreshTimeoutMs }),
      ...(options.refreshDeadline === undefined ? {} : { deadline: options.refreshDeadline }),
    });
    try {
      return await processRefreshTokenResponse(options.client, response, tokens, now());
    } catch (error) {
      if (error instanceof AuthError && error.context.error === 'invalid_grant') {
        throw new MemberLoginRequiredError({ ...options.member, reason: error.message }, error);
      }
      throw error;
    }
  }

  return {
    async token() {
      if (current && usable(current)) return current.accessToken;
      renewal ??= renew().finally(() => (renewal = undefined));
      current = await renewal;
      return current.accessToken;
    },
    invalidate(token) {
      refused = token;
    },
  };
}
