import { createHash } from 'node:crypto';

/**
 * The identity of a resource's content for the send ledger: SHA-256 of its JSON with keys in
 * a fixed order, so the same resource written with its keys in another order is still "sent".
 */
export function contentHash(resource: unknown): string {
  return createHash('sha256').update(canonicalJson(resource)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
