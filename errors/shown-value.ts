/**
 * A value of unknown shape (read from a server's JSON, a user's file or query) as text for a
 * message or a page: an object or array as JSON, which `String()` would show as
 * `[object Object]` or flatten; anything else as `String()` shows it.
 */
export function shownValue(value: unknown): string {
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}
