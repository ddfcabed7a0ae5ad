// The leaf module, not transforms/ndjson's index: that loads the FHIR model, and these parsers
// are declared for every command, `--help` included.
import { INSTANT_PATTERN } from '../transforms/ndjson/instant.ts';
import { UsageError } from './exit-codes.ts';

/**
 * Parsers of command-line option values, shared by every command so one kind of value is
 * accepted (and refused, with exit code 2) the same way everywhere. Each takes the flag it
 * parses so the message names it; pass the result to commander's `argParser`.
 */

/** Digits only: Number() alone would take "", " 3", "1e3", "0x10" and "2.0". */
const WHOLE_NUMBER = /^\d+$/;

/** A whole number of at least 1 (counts, limits, run ids). */
export function positiveInt(flag: string): (value: string) => number {
  return (value) => {
    const n = WHOLE_NUMBER.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < 1)
      throw new UsageError(`${flag} must be a positive whole number, got "${value}"`);
    return n;
  };
}

/** A whole number from 0 up (a limit that may be zero, e.g. --max-rejects 0: no bad line at all). */
export function wholeNumber(flag: string): (value: string) => number {
  return (value) => {
    const n = WHOLE_NUMBER.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n))
      throw new UsageError(`${flag} must be a whole number (0 or more), got "${value}"`);
    return n;
  };
}

/** A TCP port, 0 (any free port) to 65535. */
export function port(flag: string): (value: string) => number {
  return (value) => {
    const n = WHOLE_NUMBER.test(value) ? Number(value) : Number.NaN;
    if (!Number.isInteger(n) || n > 65535)
      throw new UsageError(`${flag} must be a port number (0-65535), got "${value}"`);
    return n;
  };
}

/** The seed of the synthetic data: any whole number from 0 up; the same seed gives the same data. */
export function seed(flag: string): (value: string) => number {
  return (value) => {
    const n = WHOLE_NUMBER.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n))
      throw new UsageError(`${flag} must be a whole number (0 or more), got "${value}"`);
    return n;
  };
}

/** A FHIR instant, checked with the pattern the loader applies to meta.lastUpdated. */
export function instant(flag: string): (value: string) => string {
  return (value) => {
    if (!INSTANT_PATTERN.test(value))
      throw new UsageError(`${flag} must be a FHIR instant such as 2026-01-31T00:00:00Z, got "${value}"`);
    return value;
  };
}

/**
 * A flag given once per value, repeated for more (`--views a --views b`): a variadic flag
 * (`--views <dir...>`) would take the arguments after it too (`load --views DIR file.ndjson`).
 */
export function eachValue(value: string, previous: unknown): string[] {
  return [...(Array.isArray(previous) ? (previous as string[]) : []), value];
}
