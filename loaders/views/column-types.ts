import type { ViewColumn } from '../../transforms/index.ts';

/**
 * How a view column's FHIR type lands in PostgreSQL.
 * @see SQL on FHIR v2, "Type hinting with tags" and FHIR R4 datatypes
 */
export function sqlTypeOf(column: ViewColumn): string {
  if (column.collection) return 'jsonb';
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

/** Checks and encodes one value for COPY into a column of the given SQL type (see column-values.ts). */
export { type ColumnEncoder, columnEncoder as encoderFor } from '../values/column-values.ts';
