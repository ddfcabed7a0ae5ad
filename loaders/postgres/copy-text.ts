/**
 * Encoding for PostgreSQL's COPY text format: columns separated by tab, rows by newline,
 * NULL as \N, and backslash, tab, newline and carriage return escaped with a backslash.
 * @see https://www.postgresql.org/docs/current/sql-copy.html (Text Format)
 */
export const COPY_NULL = '\\N';

const NEEDS_ESCAPE = /[\\\t\n\r]/;
const ESCAPES = /[\\\t\n\r]/g;
const ESCAPED: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** Escapes a text value; the common case (nothing to escape) returns the same string. */
export function escapeCopyText(value: string): string {
  return NEEDS_ESCAPE.test(value) ? value.replace(ESCAPES, (c) => ESCAPED[c] as string) : value;
}

/** Encodes one value of a row: null and undefined as NULL, objects and arrays as JSON (for jsonb). */
export function encodeCopyValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return escapeCopyText(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : COPY_NULL;
    case 'boolean':
      return value ? 't' : 'f';
    case 'undefined':
      return COPY_NULL;
    case 'bigint':
      return value.toString();
    default:
      return value === null ? COPY_NULL : escapeCopyText(JSON.stringify(value));
  }
}
