import type { Expression } from './expression.ts';
import type { FastNode } from './parse.ts';

/*
 * What every part of the fast compiler shares: the view's constants, the way back into the
 * compiler for sub-expressions (passed in, so the parts import no cycle), and the signal that
 * an expression is better left to fhirpath.js.
 */

/** Values of a view's constants the fast engine may inline (strings, numbers, booleans). */
export type FastConstants = ReadonlyMap<string, string | number | boolean>;

export interface FastContext {
  constants: FastConstants;
  /** Compiles a sub-expression (the compiler's entry for any node). */
  compile(node: FastNode): Expression;
}

export type CallNode = Extract<FastNode, { kind: 'call' }>;

export const UNSUPPORTED = Symbol('unsupported');

export function unsupported(): never {
  throw UNSUPPORTED;
}

/** The value of a literal or inlinable constant, else undefined. */
export function constantValue(
  node: FastNode,
  constants: FastConstants,
): string | number | boolean | undefined {
  if (node.kind === 'literal') return node.value;
  if (node.kind === 'variable') return constants.get(node.name);
  return undefined;
}
