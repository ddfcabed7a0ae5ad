import type { AnsiType } from './ansi-type.ts';

/**
 * A validated SQL on FHIR v2 ViewDefinition, in its JSON shape.
 * @see SQL on FHIR v2, StructureDefinition-ViewDefinition (https://sql-on-fhir.org/ig/StructureDefinition-ViewDefinition.html)
 */
export interface ViewDefinition {
  resourceType?: 'ViewDefinition';
  name?: string;
  resource: string;
  status?: string;
  constant?: ViewConstant[];
  select: SelectNode[];
  where?: WhereClause[];
  [metadata: string]: unknown;
}

/** `{ name, valueString | valueInteger | ... }`: exactly one valueX. */
export interface ViewConstant {
  name: string;
  [valueX: string]: unknown;
}

export interface WhereClause {
  path: string;
  description?: string;
}

export interface SelectNode {
  column?: ColumnDefinition[];
  select?: SelectNode[];
  forEach?: string;
  forEachOrNull?: string;
  repeat?: string[];
  unionAll?: SelectNode[];
}

export interface ColumnDefinition {
  name: string;
  path: string;
  type?: string;
  collection?: boolean;
  description?: string;
  tag?: { name: string; value: string }[];
}

/** A column of the table a view produces. */
export interface ViewColumn {
  name: string;
  /** FHIR type from column.type, or inferred from the path where the model allows; undefined if unknown. */
  type?: string;
  collection: boolean;
  description?: string;
  /** The column's `ansi/type` tag, when it has one: it chooses the SQL type over the FHIR type. */
  ansiType?: AnsiType;
}

/** A view compiled to a row emitter. */
export interface CompiledView {
  name: string;
  resource: string;
  columns: ViewColumn[];
  definition: ViewDefinition;
  /** Rows for one resource, each an array of values in column order; null for empty; arrays for collection columns. */
  emit(resource: Record<string, unknown>): unknown[][];
}
