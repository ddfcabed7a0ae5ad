import { pad2 } from './members.ts';

/** A FHIR dateTime in UTC, without milliseconds. */
export function dateTime(at: number): string {
  return new Date(at).toISOString().replace('.000Z', 'Z');
}

/** A FHIR date (YYYY-MM-DD) in UTC. */
export function date(at: number): string {
  const d = new Date(at);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
}

/** A FHIR instant with milliseconds, as meta.lastUpdated and transactionTime are written. */
export function instant(at: number): string {
  return new Date(at).toISOString();
}
