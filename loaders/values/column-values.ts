import { COPY_NULL, encodeCopyValue, escapeCopyText } from '../postgres/copy-text.ts';
import { scanDate, timeProblem } from './fhir-dates.ts';

/** A value its column's PostgreSQL type cannot hold: the cell is written NULL and this is recorded. */
export interface BadValue {
  readonly bad: true;
  readonly reason: string;
}

/**
 * Checks one value against its column's PostgreSQL type and encodes it for COPY: the COPY
 * text, or a BadValue saying why the column cannot hold it. A missing value (undefined, null)
 * is NULL and is not bad. One encoder per column, chosen once when the view is bound to its
 * table: the per-value work is a typeof and a character scan.
 */
export type ColumnEncoder = (value: unknown) => string | BadValue;

/** The encoder of a column of the given SQL type (see sqlTypeOf): every type a view column can have. */
export function columnEncoder(sqlType: string): ColumnEncoder {
  switch (sqlType) {
    case 'date':
      return encodeDate;
    case 'timestamptz':
      return encodeTimestamp;
    case 'time':
      return encodeTime;
    case 'integer':
      return encodeInteger;
    case 'bigint':
      return encodeBigint;
    case 'numeric':
      return encodeNumeric;
    case 'boolean':
      return encodeBoolean;
    case 'jsonb':
      return encodeJson;
    default:
      return encodeText;
  }
}

/** Whether an encoder's result is a bad value rather than COPY text. */
export function isBadValue(encoded: string | BadValue): encoded is BadValue {
  return typeof encoded !== 'string';
}

function bad(reason: string): BadValue {
  return { bad: true, reason };
}

function absent(value: unknown): boolean {
  return value === undefined || value === null;
}

/** What a value is, for a reason: `a number`, `a boolean`, `an object`. */
function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}

/**
 * FHIR dates may be partial (`2011`, `2011-04`): they land as the first day of the period they
 * name, which keeps them sortable and comparable. A dateTime's date part is taken as written
 * (its local date), after the whole value is checked.
 */
function encodeDate(value: unknown): string | BadValue {
  if (typeof value !== 'string') return absent(value) ? COPY_NULL : bad(`${kindOf(value)}, not a FHIR date`);
  const scan = scanDate(value, true);
  if ('problem' in scan) return bad(scan.problem);
  return datePart(value, scan.dateEnd);
}

/**
 * FHIR dateTime may be a partial date or a date without a time; those land at the start of
 * the period in UTC. With a time, FHIR requires a zone, so the value is passed through.
 */
function encodeTimestamp(value: unknown): string | BadValue {
  if (typeof value !== 'string')
    return absent(value) ? COPY_NULL : bad(`${kindOf(value)}, not a FHIR dateTime`);
  const scan = scanDate(value, true);
  if ('problem' in scan) return bad(scan.problem);
  return scan.dateEnd < value.length ? value : `${datePart(value, scan.dateEnd)}T00:00:00Z`;
}

function datePart(value: string, end: number): string {
  if (end === 10) return value.length === 10 ? value : value.slice(0, 10);
  return end === 7 ? `${value.slice(0, 7)}-01` : `${value.slice(0, 4)}-01-01`;
}

function encodeTime(value: unknown): string | BadValue {
  if (typeof value !== 'string') return absent(value) ? COPY_NULL : bad(`${kindOf(value)}, not a FHIR time`);
  const problem = timeProblem(value);
  return problem === undefined ? value : bad(problem);
}

const INT4_MIN = -2147483648;
const INT4_MAX = 2147483647;
const INT8_LIMIT = 2 ** 63;

function encodeInteger(value: unknown): string | BadValue {
  return encodeWhole(value, 'integer', (n) => n >= INT4_MIN && n <= INT4_MAX, `${INT4_MIN} to ${INT4_MAX}`);
}

function encodeBigint(value: unknown): string | BadValue {
  return encodeWhole(value, 'bigint', (n) => n >= -INT8_LIMIT && n < INT8_LIMIT, '-2^63 to 2^63-1');
}

/** A whole number within the column's range; a numeric string (as some servers send) is read as its number. */
function encodeWhole(
  value: unknown,
  type: string,
  inRange: (n: number) => boolean,
  range: string,
): string | BadValue {
  let n: number;
  if (typeof value === 'number') {
    n = value;
  } else if (typeof value === 'string' && isDecimal(value)) {
    n = Number(value);
  } else {
    return absent(value) ? COPY_NULL : bad(`${kindOf(value)}, not a number (${type} column)`);
  }
  if (!Number.isInteger(n)) return bad(`not a whole number (${type} column)`);
  if (!inRange(n)) return bad(`outside PostgreSQL's ${type} range (${range})`);
  return String(n);
}

/** PostgreSQL numeric holds up to 131072 digits before the point: far beyond any FHIR decimal. */
const MAX_EXPONENT = 100_000;

function encodeNumeric(value: unknown): string | BadValue {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string' && isDecimal(value)) return value;
  return absent(value)
    ? COPY_NULL
    : bad(`${typeof value === 'string' ? 'text' : kindOf(value)}, not a decimal number`);
}

/**
 * `-?digits(.digits)?([eE][+-]?digits)?`, by a character scan, with an exponent PostgreSQL can hold.
 * @see FHIR R4 datatypes: decimal
 */
function isDecimal(value: string): boolean {
  const n = value.length;
  let i = value.charCodeAt(0) === 0x2d ? 1 : 0;
  const start = i;
  while (i < n && isDigit(value.charCodeAt(i))) i++;
  if (i === start) return false;
  if (i < n && value.charCodeAt(i) === 0x2e) {
    const fraction = ++i;
    while (i < n && isDigit(value.charCodeAt(i))) i++;
    if (i === fraction) return false;
  }
  if (i < n && (value.charCodeAt(i) | 0x20) === 0x65) {
    i++;
    const sign = value.charCodeAt(i);
    if (sign === 0x2b || sign === 0x2d) i++;
    const exponent = i;
    while (i < n && isDigit(value.charCodeAt(i))) i++;
    if (
      i === exponent ||
      Math.abs(Number(value.slice(exponent - (sign === 0x2d ? 1 : 0), i))) > MAX_EXPONENT
    ) {
      return false;
    }
  }
  return i === n;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function encodeBoolean(value: unknown): string | BadValue {
  if (typeof value === 'boolean') return value ? 't' : 'f';
  return absent(value) ? COPY_NULL : bad(`${kindOf(value)}, not a boolean (true or false)`);
}

function encodeJson(value: unknown): string {
  return absent(value) ? COPY_NULL : escapeCopyText(JSON.stringify(value));
}

/** Any value fits text (objects as their JSON); parse-line already refused what PostgreSQL text cannot hold. */
function encodeText(value: unknown): string {
  return typeof value === 'object' && value !== null
    ? escapeCopyText(JSON.stringify(value))
    : encodeCopyValue(value);
}
