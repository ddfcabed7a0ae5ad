import type { AnsiType, ViewColumn } from '../../transforms/index.ts';

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

/** Checks and encodes one value for COPY into a column of the given SQL type (see column-values.ts). */
export { type ColumnEncoder, columnEncoder as encoderFor } from '../values/column-values.ts';
