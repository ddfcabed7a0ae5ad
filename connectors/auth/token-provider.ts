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
