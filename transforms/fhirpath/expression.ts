/**
 * The shape every compiled FHIRPath expression shares, whichever engine built it.
 *
 * An expression is evaluated against one focus item (the resource, or the current
 * `forEach` element) and appends its result collection to `out`. Appending into a
 * caller-owned array lets the fast engine evaluate a column without allocating a
 * result collection per resource.
 */
export type Expression = (focus: unknown, env: EvaluationEnv, out: unknown[]) => void;

/**
 * Per-resource evaluation state, mutated in place by the row emitter so that no
 * object is allocated per row.
 * @see SQL on FHIR v2, StructureDefinition-ViewDefinition-notes, "%rowIndex" and "Constants"
 */
export interface EvaluationEnv {
  /** The resource being transformed (%resource, getResourceKey()). */
  resource: Record<string, unknown>;
  /** Index of the current element in the innermost forEach/forEachOrNull/repeat; 0 at top level. */
  rowIndex: number;
}

/**
 * Thrown by fast-engine code when a value falls outside the subset it handles
 * exactly (a date compared to a string, a primitive extension, a non-boolean
 * operand of `and`...). The caller then evaluates the same expression with
 * fhirpath.js, so both engines always return the same result.
 */
export const BAIL: unique symbol = Symbol('fhirpath-fast-bail');

/** A focus item standing for "no input" (forEachOrNull's null row). */
export const EMPTY_FOCUS: undefined = undefined;

/**
 * Empties a scratch collection. Setting `length = 0` calls into the runtime
 * (about 100ns a time in V8); popping the few items scratch collections hold is
 * inlined and an order of magnitude faster.
 */
export function clear(collection: unknown[]): void {
  while (collection.length > 0) collection.pop();
}

/** Drops the items of `collection` from index `length` on (see clear). */
export function truncate(collection: unknown[], length: number): void {
  while (collection.length > length) collection.pop();
}
