import type { AnsiType, ViewColumn } from '../../transforms/index.ts';
import { COPY_NULL, encodeCopyValue, escapeCopyText } from '../postgres/copy-text.ts';

/**
 * How a view column lands in PostgreSQL: a collection as jsonb; else its `ansi/type` tag when it
 * has one (a `dateTime` element tagged `DATE` is a `date` column), else its FHIR type.
 * @see SQL on FHIR v2, "Type hinting with tags" and FHIR R4 datatypes
 */
export function sqlTypeOf(column: ViewColumn): string {
  if (column.collection) return 'jsonb';
  if (column.ansiType !== undefined) return SQL_TYPE_OF_ANSI[column.ansiType];
  switch (column.type) {
    case 'boolean':
      return 'boolean';
    case 'integer':
    case 'positiveInt':
    case 'unsignedInt':
      return 'integer';
    case 'integer64':
      return 'bigint';
    case 'decimal':
      return 'numeric';
    case 'date':
      return 'date';
    case 'dateTime':
    case 'instant':
      return 'timestamptz';
    case 'time':
      return 'time';
    default:
      return 'text';
  }
}

/** PostgreSQL's name for each ANSI type a view may hint (lengths and precisions are not kept). */
const SQL_TYPE_OF_ANSI: Record<AnsiType, string> = {
  BOOLEAN: 'boolean',
  DATE: 'date',
  TIME: 'time',
  'TIMESTAMP WITH TIME ZONE': 'timestamptz',
  SMALLINT: 'integer',
  INTEGER: 'integer',
  BIGINT: 'bigint',
  DECIMAL: 'numeric',
  NUMERIC: 'numeric',
  CHAR: 'text',
  CHARACTER: 'text',
  VARCHAR: 'text',
  'CHARACTER VARYING': 'text',
  CLOB: 'text',
};

/** Encodes one value for COPY into a column of the given SQL type. */
export type ValueEncoder = (value: unknown) => string;

export function encoderFor(sqlType: string): ValueEncoder {
  switch (sqlType) {
    case 'date':
      return (value) => (typeof value === 'string' ? encodeDate(value) : COPY_NULL);
    case 'timestamptz':
      return (value) => (typeof value === 'string' ? encodeDateTime(value) : COPY_NULL);
    case 'integer':
    case 'bigint':
      return (value) =>
        typeof value === 'number' && Number.isInteger(value) ? String(value) : encodeNumeric(value);
    case 'numeric':
      return encodeNumeric;
    case 'boolean':
      return (value) => (typeof value === 'boolean' ? (value ? 't' : 'f') : COPY_NULL);
    case 'jsonb':
      return (value) =>
        value === null || value === undefined ? COPY_NULL : escapeCopyText(JSON.stringify(value));
    default:
      return (value) =>
        typeof value === 'object' && value !== null
          ? escapeCopyText(JSON.stringify(value))
          : encodeCopyValue(value);
  }
}

const DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/;

/**
 * FHIR dates may be partial (`2011`, `2011-04`): they land as the first day of the period they
 * name, which keeps them sortable and comparable. A dateTime's date part is taken as written,
 * in the offset the source wrote it with, never moved to UTC: a claim billed
 * `2023-12-01T00:00:00-05:00` was billed on 2023-12-01.
 */
function encodeDate(value: string): string {
  const match = DATE.exec(value);
  if (!match) return COPY_NULL;
  return `${match[1]}-${match[2] ?? '01'}-${match[3] ?? '01'}`;
}

/**
 * FHIR dateTime may be a partial date or a date without a time; those land at the start of
 * the period in UTC. With a time, FHIR requires a zone, so the value is passed through.
 */
function encodeDateTime(value: string): string {
  if (value.length > 10 && value[10] === 'T') return value;
  const date = encodeDate(value);
  return date === COPY_NULL ? date : `${date}T00:00:00Z`;
}

function encodeNumeric(value: unknown): string {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : COPY_NULL;
  if (typeof value === 'string' && /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(value)) return value;
  return COPY_NULL;
}
