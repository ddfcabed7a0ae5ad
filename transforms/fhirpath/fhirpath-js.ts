import type { UserInvocationTable } from 'fhirpath';
import { boundary } from './boundary.ts';
import { fhirpathJs } from './fhirpath-js-module.ts';
import type { EvaluationEnv, Expression } from './expression.ts';
import { R4_MODEL } from './model.ts';
import { referenceKeys, resourceKey } from './reference-key.ts';

/** A view constant as fhirpath.js receives it. */
export interface ConstantValue {
  value: string | number | boolean;
  /** FHIR type from the constant's valueX key (`date`, `string`, `integer`...). */
  type: string;
}

export interface FhirpathJsOptions {
  /** Constants by name (without %). */
  constants: ReadonlyMap<string, ConstantValue>;
  /**
   * FHIR type path of the focus when it is a raw element rather than a resource
   * (`HumanName`, `ExplanationOfBenefit.item`), so choice types resolve.
   */
  base?: string | undefined;
}

/**
 * Compiles `expression` once with fhirpath.js (R4 model) into an Expression.
 * Throws the fhirpath.js Error when the expression does not parse.
 *
 * Constants go in as environment variables, except temporal ones: fhirpath.js
 * compares a plain string with a date as unequal (`birthDate = '1978-03-12'` is
 * false), so date/dateTime/instant/time constants are substituted as FHIRPath
 * literals (`@1978-03-12`), which is what the spec means by a typed constant.
 * @see SQL on FHIR v2, StructureDefinition-ViewDefinition-notes, "Constants"
 */
export function compileWithFhirpathJs(expression: string, options: FhirpathJsOptions): Expression {
  const vars: Record<string, unknown> = { rowIndex: 0, resource: undefined, rootResource: undefined };
  for (const [name, constant] of options.constants) {
    if (!TEMPORAL_TYPES.has(constant.type)) vars[name] = constant.value;
  }
  const state: { resource: Record<string, unknown> } = { resource: {} };
  const text = substituteTemporalConstants(expression, options.constants);
  const path = options.base === undefined ? text : { base: options.base, expression: text };
  const evaluate = fhirpathJs().compile(path, R4_MODEL, { userInvocationTable: keyFunctions(state) });
  return (focus: unknown, env: EvaluationEnv, out: unknown[]) => {
    vars.rowIndex = env.rowIndex;
    vars.resource = env.resource;
    vars.rootResource = env.resource;
    state.resource = env.resource;
    const result = evaluate(focus === undefined ? [] : (focus as object), vars) as unknown[];
    for (let i = 0; i < result.length; i++) out.push(result[i]);
  };
}

const TEMPORAL_TYPES = new Set(['date', 'dateTime', 'instant', 'time']);

/** getResourceKey() and getReferenceKey([type]) as fhirpath.js user functions. */
function keyFunctions(state: { resource: Record<string, unknown> }): UserInvocationTable {
  return {
    getResourceKey: {
      fn: () => {
        const key = resourceKey(state.resource);
        return key === undefined ? [] : [key];
      },
      arity: { 0: [] },
    },
    getReferenceKey: {
      fn: (inputs: unknown[], type?: { name: string }) => {
        const out: unknown[] = [];
        referenceKeys(inputs, type?.name, out);
        return out;
      },
      arity: { 0: [], 1: ['TypeSpecifier'] },
    },
    lowBoundary: {
      fn: (inputs: unknown[]) => boundaries(inputs, 'low'),
      arity: { 0: [] },
      internalStructures: true,
    },
    highBoundary: {
      fn: (inputs: unknown[]) => boundaries(inputs, 'high'),
      arity: { 0: [] },
      internalStructures: true,
    },
    join: {
      // SQL on FHIR expects '' for an empty collection, where fhirpath.js yields empty.
      fn: (inputs: unknown[], separator?: string) => {
        if (inputs.some((v) => typeof v !== 'string'))
          throw new Error('join() requires a collection of strings');
        return [inputs.join(separator ?? '')];
      },
      arity: { 0: [], 1: ['String'] },
    },
  };
}

/** Boundaries of fhirpath.js nodes (internalStructures), using their FHIR type. */
function boundaries(inputs: unknown[], which: 'low' | 'high'): unknown[] {
  const out: unknown[] = [];
  for (const input of inputs) {
    const node = input as { data?: unknown; fhirNodeDataType?: string; toJSON?: () => unknown } | null;
    let value: unknown = node;
    let type: string | undefined;
    if (node !== null && typeof node === 'object') {
      if ('fhirNodeDataType' in node) {
        value = node.data;
        type = node.fhirNodeDataType;
      } else if (typeof node.toJSON === 'function') {
        value = node.toJSON();
      }
    }
    // fhirpath.js wraps decimals (FP_Decimal) and dates (FP_DateTime) in objects.
    if (value !== null && typeof value === 'object') {
      const wrapped = value as { value?: unknown; toJSON?: () => unknown };
      value = typeof wrapped.value === 'number' ? wrapped.value : wrapped.toJSON?.();
    }
    const result = boundary(value, type, which);
    if (result !== undefined) out.push(result);
  }
  return out;
}

/** Replaces `%name` of temporal constants with FHIRPath date/time literals. */
function substituteTemporalConstants(
  expression: string,
  constants: ReadonlyMap<string, ConstantValue>,
): string {
  const temporal = [...constants].filter(([, c]) => TEMPORAL_TYPES.has(c.type));
  if (temporal.length === 0) return expression;
  const pattern = new RegExp(`%(${temporal.map(([name]) => name).join('|')})\\b(?![('])`, 'g');
  // Split on string literals so that '%name' inside quotes is left alone.
  return expression
    .split(/('(?:[^'\\]|\\.)*')/)
    .map((part, i) =>
      i % 2 === 1
        ? part
        : part.replace(pattern, (_, name: string) => {
            const constant = constants.get(name) as ConstantValue;
            return temporalLiteral(String(constant.value), constant.type);
          }),
    )
    .join('');
}

function temporalLiteral(value: string, type: string): string {
  if (type === 'time') return `@T${value}`;
  if (type === 'date' || value.includes('T')) return `@${value}`;
  return `@${value}T`;
}
