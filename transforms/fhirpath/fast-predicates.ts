import { BAIL, clear, type EvaluationEnv, type Expression } from './expression.ts';
import { constantValue, type FastContext, unsupported } from './fast-context.ts';
import { chainFromThis, memberReducer } from './fast-walkers.ts';
import type { FastNode } from './parse.ts';

/*
 * Predicates: boolean-valued expressions evaluated without a result collection (where and
 * exists criteria, and/or/implies operands, = and !=), with FHIRPath's three-valued logic.
 */

/**
 * A boolean-valued expression evaluated without a result collection:
 * true, false, or undefined for empty. Used for where/exists criteria and
 * the operands of and/or/implies.
 */
export type Predicate = (focus: unknown, env: EvaluationEnv) => boolean | undefined;

export function compilePredicate(node: FastNode, ctx: FastContext): Predicate {
  if (node.kind === 'binary' && (node.op === 'and' || node.op === 'or' || node.op === 'implies')) {
    return logicPredicate(node.op, compilePredicate(node.left, ctx), compilePredicate(node.right, ctx));
  }
  if (node.kind === 'binary' && (node.op === '=' || node.op === '!=')) {
    return equalityPredicate(node.op === '!=', node.left, node.right, ctx);
  }
  if (node.kind === 'literal' && typeof node.value === 'boolean') {
    const value = node.value;
    return () => value;
  }
  if (node.kind === 'call' && (node.fn === 'exists' || node.fn === 'empty')) {
    let criteria = node.args[0];
    let source = node.source;
    // x.where(c).exists() is x.exists(c): no collection of the kept items.
    if (criteria === undefined && node.fn === 'exists' && source.kind === 'call' && source.fn === 'where') {
      criteria = source.args[0];
      source = source.source;
    }
    const input = ctx.compile(source);
    const buffer: unknown[] = [];
    const exists = node.fn === 'exists';
    const steps = criteria === undefined ? chainFromThis(source) : undefined;
    if (steps !== undefined) {
      const any = memberReducer(steps, 'any');
      return (focus) => any(focus) === exists;
    }
    if (criteria === undefined) {
      return (focus, env) => {
        clear(buffer);
        input(focus, env, buffer);
        return buffer.length > 0 === exists;
      };
    }
    if (!exists) unsupported();
    // exists(criteria) = where(criteria).exists(): every item is evaluated, as fhirpath.js does.
    const test = compilePredicate(criteria, ctx);
    return (focus, env) => {
      clear(buffer);
      input(focus, env, buffer);
      let found = false;
      for (let i = 0; i < buffer.length; i++) if (test(buffer[i], env) === true) found = true;
      return found;
    };
  }
  if (node.kind === 'call' && node.fn === 'not') {
    const operand = compilePredicate(node.source, ctx);
    return (focus, env) => {
      const value = operand(focus, env);
      return value === undefined ? undefined : !value;
    };
  }
  const expression = ctx.compile(node);
  const buffer: unknown[] = [];
  return (focus, env) => {
    clear(buffer);
    expression(focus, env, buffer);
    return singletonBoolean(buffer);
  };
}

/**
 * Singleton evaluation of a boolean operand: empty -> undefined; anything but
 * one boolean bails (fhirpath.js reads a non-boolean singleton as true in
 * some places and raises errors in others; where() keeps items whose first
 * result is truthy).
 */
function singletonBoolean(input: unknown[]): boolean | undefined {
  if (input.length === 0) return undefined;
  const value = input[0];
  if (input.length !== 1 || typeof value !== 'boolean') throw BAIL;
  return value;
}

export function compileLogic(op: 'and' | 'or' | 'implies', left: Predicate, right: Predicate): Expression {
  const predicate = logicPredicate(op, left, right);
  return (focus, env, out) => {
    const value = predicate(focus, env);
    if (value !== undefined) out.push(value);
  };
}

/**
 * Three-valued logic, FHIRPath N1 section 6.5. Both operands are always
 * evaluated, as fhirpath.js does, so that an operand it would reject still
 * bails here.
 */
function logicPredicate(op: 'and' | 'or' | 'implies', left: Predicate, right: Predicate): Predicate {
  switch (op) {
    case 'and':
      return (focus, env) => {
        const a = left(focus, env);
        const b = right(focus, env);
        return a === false || b === false ? false : a === true && b === true ? true : undefined;
      };
    case 'or':
      return (focus, env) => {
        const a = left(focus, env);
        const b = right(focus, env);
        return a === true || b === true ? true : a === false && b === false ? false : undefined;
      };
    case 'implies':
      return (focus, env) => {
        const a = left(focus, env);
        const b = right(focus, env);
        return a === false ? true : a === true ? b : b === true ? true : undefined;
      };
  }
}

export function compileEquality(
  op: '=' | '!=',
  left: FastNode,
  right: FastNode,
  ctx: FastContext,
): Expression {
  const predicate = equalityPredicate(op === '!=', left, right, ctx);
  return (focus, env, out) => {
    const value = predicate(focus, env);
    if (value !== undefined) out.push(value);
  };
}

/**
 * `=` / `!=` on singletons. Comparing with a string literal or constant that
 * cannot be read as a date or time is fused: no operand collections.
 */
function equalityPredicate(
  negate: boolean,
  leftNode: FastNode,
  rightNode: FastNode,
  ctx: FastContext,
): Predicate {
  const left = singleton(leftNode, ctx);
  const literal = constantValue(rightNode, ctx.constants);
  if (typeof literal === 'string' && !mayBeTemporal(literal)) {
    return (focus, env) => {
      const value = left(focus, env);
      if (value === undefined) return undefined;
      if (typeof value !== 'string' || mayBeTemporal(value)) throw BAIL;
      return (value === literal) !== negate;
    };
  }
  const right = singleton(rightNode, ctx);
  return (focus, env) => {
    const a = left(focus, env);
    if (a === undefined) return undefined;
    const b = right(focus, env);
    if (b === undefined) return undefined;
    return equalsExactly(a, b) !== negate;
  };
}

/** An operand that must be a singleton: its value, undefined when empty; several items bail. */
function singleton(node: FastNode, ctx: FastContext): (focus: unknown, env: EvaluationEnv) => unknown {
  const steps = chainFromThis(node);
  if (steps !== undefined) {
    const reduce = memberReducer(steps, 'single');
    return (focus) => reduce(focus);
  }
  const value = constantValue(node, ctx.constants);
  if (value !== undefined) return () => value;
  const expression = ctx.compile(node);
  const buffer: unknown[] = [];
  return (focus, env) => {
    clear(buffer);
    expression(focus, env, buffer);
    if (buffer.length === 0) return undefined;
    if (buffer.length !== 1) throw BAIL;
    return buffer[0];
  };
}

/** Temporal values compare by precision in FHIRPath; they look like this in JSON. */
const TEMPORAL = /^(\d{4}(-\d\d(-\d\d(T.*)?)?)?|T?\d\d:\d\d.*)$/;

/**
 * `=` for the value kinds where FHIRPath equality is plain identity: strings
 * that cannot be dates or times, integers, booleans. Everything else bails.
 * @see FHIRPath N1, section 6.1.1 "= (Equals)"
 */
function equalsExactly(a: unknown, b: unknown): boolean {
  if (typeof a === 'string' && typeof b === 'string') {
    if (mayBeTemporal(a) || mayBeTemporal(b)) throw BAIL;
    return a === b;
  }
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b;
  if (Number.isInteger(a) && Number.isInteger(b)) return a === b;
  throw BAIL;
}

/** Cheap first-character screen before the regex: most strings start with a letter. */
function mayBeTemporal(value: string): boolean {
  const c = value.charCodeAt(0);
  return ((c >= 48 && c <= 57) || c === 84) && TEMPORAL.test(value);
}
