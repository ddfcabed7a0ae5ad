/**
 * FHIR date, dateTime and time syntax, checked by scanning characters (no regex per value),
 * with calendar validity: the checks PostgreSQL's date, timestamptz and time input would
 * otherwise make in COPY, where one bad value fails the whole file.
 * @see FHIR R4 datatypes: date (2.24.0.1), dateTime, instant, time
 */

/** Where a checked date or dateTime value ends its date part, or why it is no such value. */
export type DateScan = { dateEnd: number } | { problem: string };

/**
 * Scans a FHIR date (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`) or, with `withTime`, a FHIR dateTime
 * (the same, or `YYYY-MM-DDThh:mm:ss[.f+](Z|±hh:mm)`). Year 0000 is refused (FHIR's pattern
 * and PostgreSQL both refuse it); every other 4-digit year is within PostgreSQL's range.
 */
export function scanDate(value: string, withTime: boolean): DateScan {
  const syntax = withTime ? DATE_TIME_SYNTAX : DATE_SYNTAX;
  const n = value.length;
  if (n < 4 || !digits(value, 0, 4)) return syntax;
  if (n === 4) return value === '0000' ? YEAR_ZERO : DATE_END[4];
  if (value.charCodeAt(4) !== DASH || n < 7 || !digits(value, 5, 2)) return syntax;
  const year = number(value, 0, 4);
  if (year === 0) return YEAR_ZERO;
  const month = number(value, 5, 2);
  if (month < 1 || month > 12) return { problem: `month ${value.slice(5, 7)} does not exist` };
  if (n === 7) return DATE_END[7];
  if (value.charCodeAt(7) !== DASH || n < 10 || !digits(value, 8, 2)) return syntax;
  const day = number(value, 8, 2);
  if (day < 1 || (day > 28 && day > daysIn(year, month))) {
    return {
      problem: `day ${value.slice(8, 10)} does not exist in ${MONTHS[month - 1]} ${value.slice(0, 4)} (${daysIn(year, month)} days)`,
    };
  }
  if (n === 10) return DATE_END[10];
  if (!withTime || value.charCodeAt(10) !== T) return syntax;
  const timeEnd = scanTime(value, 11);
  if (typeof timeEnd === 'string') return { problem: timeEnd };
  if (timeEnd === n) return { problem: 'a dateTime with a time must have a time zone (Z or ±hh:mm)' };
  const zone = scanZone(value, timeEnd);
  return zone === undefined ? DATE_END[10] : { problem: zone };
}

const DATE_SYNTAX = { problem: 'not a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)' } as const;
const DATE_TIME_SYNTAX = {
  problem: 'not a FHIR dateTime (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a time zone)',
} as const;
const YEAR_ZERO = { problem: 'year 0000 does not exist (PostgreSQL and FHIR start at year 1)' } as const;
/** The scans of valid values, shared: no allocation per value. */
const DATE_END = { 4: { dateEnd: 4 }, 7: { dateEnd: 7 }, 10: { dateEnd: 10 } } as const;

/** Checks a FHIR time (`hh:mm:ss[.f+]`); returns why it is not one, or undefined. */
export function timeProblem(value: string): string | undefined {
  const end = scanTime(value, 0);
  if (typeof end === 'string') return end;
  return end === value.length ? undefined : 'not a FHIR time (hh:mm:ss)';
}

const DASH = 0x2d;
const COLON = 0x3a;
const T = 0x54;
const DOT = 0x2e;
const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** Scans `hh:mm:ss[.f+]` at `start`; returns where it ends, or why it is no time. */
function scanTime(value: string, start: number): number | string {
  const syntax = 'not a FHIR time (hh:mm:ss)';
  if (value.length < start + 8 || !digits(value, start, 2) || value.charCodeAt(start + 2) !== COLON)
    return syntax;
  if (!digits(value, start + 3, 2) || value.charCodeAt(start + 5) !== COLON || !digits(value, start + 6, 2)) {
    return syntax;
  }
  const hour = number(value, start, 2);
  const minute = number(value, start + 3, 2);
  const second = number(value, start + 6, 2);
  if (hour > 23 || minute > 59 || second > 60) return `time ${value.slice(start, start + 8)} does not exist`;
  let end = start + 8;
  if (value.charCodeAt(end) === DOT) {
    end++;
    const fraction = end;
    while (end < value.length && isDigit(value.charCodeAt(end))) end++;
    if (end === fraction) return syntax;
  }
  return end;
}

/** Checks the zone that ends a dateTime at `start`: `Z` or `±hh:mm` up to ±14:00. */
function scanZone(value: string, start: number): string | undefined {
  const rest = value.length - start;
  if (rest === 1 && value.charCodeAt(start) === 0x5a) return undefined;
  const sign = value.charCodeAt(start);
  if (rest === 6 && (sign === 0x2b || sign === DASH) && digits(value, start + 1, 2)) {
    if (value.charCodeAt(start + 3) === COLON && digits(value, start + 4, 2)) {
      const hours = number(value, start + 1, 2);
      const minutes = number(value, start + 4, 2);
      if (minutes > 59 || hours > 14 || (hours === 14 && minutes > 0)) {
        return `time zone ${value.slice(start)} does not exist`;
      }
      return undefined;
    }
  }
  return 'a dateTime with a time must end with a time zone (Z or ±hh:mm)';
}

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function digits(value: string, start: number, count: number): boolean {
  for (let i = start; i < start + count; i++) if (!isDigit(value.charCodeAt(i))) return false;
  return true;
}

function number(value: string, start: number, count: number): number {
  let n = 0;
  for (let i = start; i < start + count; i++) n = n * 10 + value.charCodeAt(i) - 0x30;
  return n;
}
