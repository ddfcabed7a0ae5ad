import { BAIL, clear, type EvaluationEnv, type Expression, truncate } from './expression.ts';
import { type CallNode, constantValue, type FastContext, unsupported } from './fast-context.ts';
import { compilePredicate } from './fast-predicates.ts';
import { chainFromThis, memberReducer } from './fast-walkers.ts';
import { isKnownType } from './model.ts';
import type { FastNode } from './parse.ts';
import { referenceKeys, resourceKey } from './reference-key.ts';

/*
 * Functions: FHIRPath's functions over an input collection (FHIRPath N1 sections 5.1-5.6)
 * and the SQL on FHIR key functions, as the fast engine runs them.
 */

/** Functions over the input collection: FHIRPath N1 sections 5.1-5.6, SQL on FHIR key functions. */
export function compileCall(node: CallNode, ctx: FastContext): Expression {
  switch (node.fn) {
    case 'iif':
      return iif(node, ctx);
    case 'combine': {
      // combine(x) = input then x (evaluated on $this), duplicates kept.
      const input = ctx.compile(node.source);
      const other = ctx.compile(node.args[0] ?? unsupported());
      return (focus, env, out) => {
        input(focus, env, out);
        other(focus, env, out);
      };
    }
    case 'first':
      return first(node.source, ctx);
    case 'exists':
    case 'empty':
    case 'not': {
      const predicate = compilePredicate(node, ctx);
      return (focus, env, out) => {
        const value = predicate(focus, env);
        if (value !== undefined) out.push(value);
      };
    }
    default:
      break;
  }
  const input = ctx.compile(node.source);
  const buffer: unknown[] = [];
  const apply = collectionFunction(node, ctx);
  return (focus, env, out) => {
    clear(buffer);
    input(focus, env, buffer);
    apply(buffer, focus, env, out);
  };
}

/** An input collection, the $this its arguments are evaluated on, the output. */
type CollectionFunction = (input: unknown[], focus: unknown, env: EvaluationEnv, out: unknown[]) => void;

function collectionFunction(node: CallNode, ctx: FastContext): CollectionFunction {
  const arg = node.args[0];
  switch (node.fn) {
    case 'last':
      return (input, _focus, _env, out) => {
        if (input.length > 0) out.push(input[input.length - 1]);
      };
    case 'count':
      return (input, _focus, _env, out) => {
        out.push(input.length);
      };
    case 'where': {
      const criteria = compilePredicate(arg ?? unsupported(), ctx);
      return (input, _focus, env, out) => {
        for (let i = 0; i < input.length; i++) if (criteria(input[i], env) === true) out.push(input[i]);
      };
    }
    case 'select': {
      const projection = ctx.compile(arg ?? unsupported());
      return (input, _focus, env, out) => {
        for (let i = 0; i < input.length; i++) projection(input[i], env, out);
      };
    }
    case 'extension':
      return extension(literalString(arg, ctx));
    case 'join':
      return join(arg === undefined ? '' : literalString(arg, ctx));
    case 'startsWith':
      return stringTest(ctx.compile(arg ?? unsupported()), (s, x) => s.startsWith(x));
    case 'endsWith':
      return stringTest(ctx.compile(arg ?? unsupported()), (s, x) => s.endsWith(x));
    case 'contains':
      return stringTest(ctx.compile(arg ?? unsupported()), (s, x) => s.includes(x));
    case 'trim':
      return (input, _focus, _env, out) => {
        const value = singletonString(input);
        if (value !== undefined) out.push(value.trim());
      };
    case 'getResourceKey':
      return (_input, _focus, env, out) => {
        const key = resourceKey(env.resource);
        if (key !== undefined) out.push(key);
      };
    case 'getReferenceKey': {
      const type = node.text;
      if (type !== undefined && !isKnownType(type)) unsupported();
      return (input, _focus, _env, out) => referenceKeys(input, type, out);
    }
    default:
      return unsupported();
  }
}

function literalString(node: FastNode | undefined, ctx: FastContext): string {
  const value = node === undefined ? undefined : constantValue(node, ctx.constants);
  if (typeof value === 'string') return value;
  return unsupported();
}

/**
 * first(). On a member chain from $this, the walk still runs to the end: a
 * later element may hold what fhirpath.js handles differently (a primitive
 * extension), and the fallback must then see the whole expression.
 */
function first(source: FastNode, ctx: FastContext): Expression {
  const steps = chainFromThis(source);
  if (steps !== undefined) {
    const reduce = memberReducer(steps, 'first');
    return (focus, _env, out) => {
      const value = reduce(focus);
      if (value !== undefined) out.push(value);
    };
  }
  const input = ctx.compile(source);
  return (focus, env, out) => {
    const mark = out.length;
    input(focus, env, out);
    truncate(out, mark + 1);
  };
}

/**
 * iif(criterion, true-result [, otherwise-result]) on $this: fhirpath.js takes the
 * true branch only for exactly one `true`; anything else (empty, false, several
 * items, a non-boolean) selects the otherwise branch.
 * @see FHIRPath N1, section 5.5 "iif"
 */
function iif(node: CallNode, ctx: FastContext): Expression {
  // On another input, fhirpath.js evaluates the branches on the whole input collection.
  if (node.source.kind !== 'this') unsupported();
  const criterion = ctx.compile(node.args[0] ?? unsupported());
  const then = ctx.compile(node.args[1] ?? unsupported());
  const otherwise = node.args[2] === undefined ? undefined : ctx.compile(node.args[2]);
  const result: unknown[] = [];
  return (focus, env, out) => {
    clear(result);
    criterion(focus, env, result);
    if (result.length === 1 && result[0] === true) then(focus, env, out);
    else if (otherwise !== undefined) otherwise(focus, env, out);
  };
}

/**
 * startsWith / endsWith / contains on a string: empty input or empty argument
 * give empty; several items or a non-string bail (fhirpath.js raises an error).
 * @see FHIRPath N1, section 5.6 "String Manipulation"
 */
function stringTest(argument: Expression, test: (s: string, x: string) => boolean): CollectionFunction {
  const arg: unknown[] = [];
  return (input, focus, env, out) => {
    clear(arg);
    argument(focus, env, arg);
    const x = singletonString(arg);
    const s = singletonString(input);
    if (x !== undefined && s !== undefined) out.push(test(s, x));
  };
}

/** The string of a singleton collection, undefined when empty; anything else bails. */
function singletonString(input: unknown[]): string | undefined {
  if (input.length === 0) return undefined;
  const value = input[0];
  if (input.length !== 1 || typeof value !== 'string') throw BAIL;
  return value;
}

/** `a & b`: string concatenation where empty counts as ''. @see FHIRPath N1, section 6.6 */
export function concatenate(left: Expression, right: Expression): Expression {
  const l: unknown[] = [];
  const r: unknown[] = [];
  return (focus, env, out) => {
    clear(l);
    clear(r);
    left(focus, env, l);
    right(focus, env, r);
    out.push((singletonString(l) ?? '') + (singletonString(r) ?? ''));
  };
}

/** extension(url) on complex elements; primitives keep extensions in `_x`, left to fhirpath.js. */
function extension(url: string): CollectionFunction {
  return (input, _focus, _env, out) => {
    for (let i = 0; i < input.length; i++) {
      const item = input[i];
      if (item === null || typeof item !== 'object') throw BAIL;
      const extensions = (item as Record<string, unknown>).extension;
      if (!Array.isArray(extensions)) continue;
      for (let j = 0; j < extensions.length; j++) {
        const ext = extensions[j] as Record<string, unknown> | null;
        if (ext !== null && typeof ext === 'object' && ext.url === url) out.push(ext);
      }
    }
  };
}

function join(separator: string): CollectionFunction {
  return (input, _focus, _env, out) => {
    // SQL on FHIR expects '' for an empty collection (fhirpath.js would yield empty).
    for (let i = 0; i < input.length; i++) if (typeof input[i] !== 'string') throw BAIL;
    out.push(input.join(separator));
  };
}
