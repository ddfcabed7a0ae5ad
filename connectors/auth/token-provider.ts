import type { HttpClient } from '../http/types.ts';

/**
 * Where a connector gets its bearer token. Implementations cache the token, renew it shortly
 * before it expires (single-flight: concurrent callers share one renewal), and mint a fresh
 * one after `invalidate` (the server answered 401).
 */
export interface TokenProvider {
  /** A valid access token, renewed first when it is about to expire. */
  token(): Promise<string>;
  /** The server refused `token` (401): the next `token()` call obtains a new one. */
  invalidate(token: string): void;
}

/** What a token provider needs from outside: the HTTP client its token requests go through. */
export interface AuthDependencies {
  http: HttpClient;
  /** Epoch ms, for the token's expiry; injected for tests. */
  now?: () => number;
}
