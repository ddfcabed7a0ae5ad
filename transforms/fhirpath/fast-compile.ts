import {
  BAIL,
  type EvaluationEnv,
  type Expression,
  clear as importedClear,
  truncate as importedTruncate,
} from './expression.ts';
import { CHOICE_ELEMENT_NAMES, isKnownType } from './model.ts';
import type { FastNode } from './parse.ts';
import {
  referenceKeys as importedReferenceKeys,
  resourceKey as importedResourceKey,
} from './reference-key.ts';

/*
 * Module-local bindings of the functions hot paths call: a loader that compiles
 * this module to CommonJS (tsx does) turns every use of an imported binding into
 * a getter call, which showed up at ~10% of a view's run time.
 */
const clear = importedClear;
const truncate = importedTruncate;
const referenceKeys = importedReferenceKeys;
const resourceKey = importedResourceKey;

/** Values of a view's constants the fast engine may inline (strings, numbers, booleans). */
export type FastConstants = ReadonlyMap<string, string | number | boolean>;

/**
 * Compiles a parsed fast-subset expression to a closure, or returns undefined
 * when some part of it (an unknown variable, ofType on a non-member...) is
 * better left to fhirpath.js. At run time the closure throws BAIL on values it
 * cannot handle exactly; see expression.ts.
 *
 * Every function here mirrors what fhirpath.js 5 does, including how it
 * evaluates arguments: function arguments other than criteria/projections
 * (`combine(x)`, `startsWith(x)`) and operator operands are evaluated on the
 * current `$this` (the focus of the enclosing expression), not on the input
 * collection; criteria (`where`, `exists`, `select`, `iif`) on each item or on
 * the input.
 */
export function compileFast(node: FastNode, constants: FastConstants): Expression | undefined {
  try {
    return compileNode(node, constants);
  } catch (error) {
    if (error === UNSUPPORTED) return undefined;
    throw error;
  }
}

const UNSUPPORTED = Symbol('unsupported');

function unsupported(): never {
  throw UNSUPPORTED;
}

type CallNode = Extract<FastNode, { kind: 'call' }>;

function compileNode(node: FastNode, constants: FastConstants): Expression {
  switch (node.kind) {
    case 'this':
      return (focus, _env, out) => {
        if (focus !== undefined) out.push(focus);
      };
    case 'literal': {
      const value = node.value;
      return (_focus, _env, out) => {
        out.push(value);
      };
    }
    case 'variable':
      return compileVariable(node.name, constants);
    case 'member':
      return compileMemberChain(node, constants);
    case 'index':
      return compileIndex(compileNode(node.source, constants), node.index);
    case 'call':
      if (node.fn === 'ofType') return compileMemberChain(node, constants);
      return compileCall(node, constants);
    case 'binary':
      if (node.op === '&')
        return concatenate(compileNode(node.left, constants), compileNode(node.right, constants));
      if (node.op === '=' || node.op === '!=')
        return compileEquality(node.op, node.left, node.right, constants);
      return compileLogic(
        node.op,
        compilePredicate(node.left, constants),
        compilePredicate(node.right, constants),
      );
  }
}

/** The value of a literal or inlinable constant, else undefined. */
function constantValue(node: FastNode, constants: FastConstants): string | number | boolean | undefined {
  if (node.kind === 'literal') return node.value;
  if (node.kind === 'variable') return constants.get(node.name);
  return undefined;
}

/** %rowIndex, %resource and the view's constants. */
function compileVariable(name: string, constants: FastConstants): Expression {
  if (name === 'rowIndex') {
    return (_focus, env, out) => {
      out.push(env.rowIndex);
    };
  }
  if (name === 'resource' || name === 'rootResource') {
    return (_focus, env, out) => {
      out.push(env.resource);
    };
  }
  const value = constants.get(name);
  if (value === undefined) unsupported();
  return (_focus, _env, out) => {
    out.push(value);
  };
}

/**
 * One step of a member chain: property `name`, or for `x.ofType(T)` the JSON
 * property `xT` with `guard` = `x` (a non-choice element of that name means
 * ofType must filter by type, which only fhirpath.js knows how to do).
 */
interface MemberStep {
  name: string;
  choice: boolean;
  guard: string | undefined;
}

/** `a.b.ofType(T).c` as plain property steps, and the node the chain starts from. */
function memberSteps(node: FastNode): { steps: MemberStep[]; source: FastNode } {
  const steps: MemberStep[] = [];
  let source = node;
  for (;;) {
    if (source.kind === 'member') {
      steps.push(memberStep(source.name, undefined));
      source = source.source;
    } else if (source.kind === 'call' && source.fn === 'ofType' && source.source.kind === 'member') {
      const type = source.text ?? unsupported();
      if (!isKnownType(type)) unsupported();
      const base = source.source.name;
      steps.push(memberStep(base + type.charAt(0).toUpperCase() + type.slice(1), base));
      source = source.source.source;
    } else if (source.kind === 'call' && source.fn === 'ofType') {
      unsupported();
    } else {
      break;
    }
  }
  steps.reverse();
  return { steps, source };
}

/** The steps of a member chain evaluated on the focus itself (`a.b.c`), else undefined. */
function chainFromThis(node: FastNode): MemberStep[] | undefined {
  if (node.kind !== 'member' && !(node.kind === 'call' && node.fn === 'ofType')) return undefined;
  const { steps, source } = memberSteps(node);
  return source.kind === 'this' && steps.length > 0 ? steps : undefined;
}

/** Collapses `a.b.ofType(T).c` into one walker over plain properties. */
function compileMemberChain(node: FastNode, constants: FastConstants): Expression {
  const { steps, source } = memberSteps(node);
  const walk = memberWalker(steps);
  if (source.kind === 'this') {
    return (focus, _env, out) => {
      if (focus !== undefined) walk(focus, out);
    };
  }
  const input = compileNode(source, constants);
  const buffer: unknown[] = [];
  return (focus, env, out) => {
    clear(buffer);
    input(focus, env, buffer);
    for (let i = 0; i < buffer.length; i++) walk(buffer[i], out);
  };
}

function memberStep(name: string, guard: string | undefined): MemberStep {
  return { name, choice: CHOICE_ELEMENT_NAMES.has(name), guard };
}

type Walker = (item: unknown, out: unknown[]) => void;
/** A member chain reduced to one value: the only item, the first item, or whether there is any. */
type Reducer = (item: unknown) => unknown;

/**
 * What a generated walker does with each item it reaches: push it, keep the
 * only one (a second bails: the caller needs a singleton), keep the first, or
 * note that there is one. Every mode walks the whole chain, so the same values
 * bail in every mode.
 */
type WalkMode = 'push' | 'single' | 'first' | 'any';

const walkerCache = new Map<string, Walker | Reducer>();

function memberWalker(steps: readonly MemberStep[]): Walker {
  return generatedWalker(steps, 'push') as Walker;
}

/** A reducer over `steps` from the focus; undefined (empty) on an undefined focus. */
function memberReducer(steps: readonly MemberStep[], mode: Exclude<WalkMode, 'push'>): Reducer {
  return generatedWalker(steps, mode) as Reducer;
}

/**
 * Walks properties with FHIRPath's implicit flattening of arrays, bailing on
 * what plain JSON access cannot answer exactly: primitive extensions (`_x`),
 * nulls, choice variants of a non-choice step, a member of a primitive.
 *
 * The walker is generated source, one small function per step, so that every
 * property read is a named access with its own inline cache: a shared generic
 * walker reading `record[name]` for every path of every view is megamorphic and
 * several times slower. Names are embedded with JSON.stringify, never as code.
 * @see FHIRPath N1, section 5.1 "Path selection" (collections are flattened)
 */
function generatedWalker(steps: readonly MemberStep[], mode: WalkMode): Walker | Reducer {
  const key = `${mode} ${JSON.stringify(steps)}`;
  const cached = walkerCache.get(key);
  if (cached !== undefined) return cached;
  const terminal = (v: string): string => {
    switch (mode) {
      case 'push':
        return `out.push(${v});`;
      case 'single':
        return `if (n++ !== 0) throw BAIL; r = ${v};`;
      case 'first':
        return `if (n++ === 0) r = ${v};`;
      case 'any':
        return 'r = true;';
    }
  };
  const args = mode === 'push' ? 'x, out' : 'x';
  const parts: string[] = [];
  steps.forEach((step, depth) => {
    const name = JSON.stringify(step.name);
    const next = (v: string) =>
      depth === steps.length - 1 ? terminal(v) : `s${depth + 1}(${mode === 'push' ? `${v}, out` : v});`;
    parts.push(`function s${depth}(${args}) {
  if (x === null || typeof x !== 'object') throw BAIL;
  ${step.guard === undefined ? '' : `if (x[${JSON.stringify(step.guard)}] !== undefined) throw BAIL;`}
  const v = x[${name}];
  if (v === undefined) {
    if (x[${JSON.stringify(`_${step.name}`)}] !== undefined) throw BAIL;
    ${step.choice ? `if (hasChoiceVariant(x, ${name})) throw BAIL;` : ''}
    return;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const e = v[i];
      if (e === null) throw BAIL;
      ${next('e')}
    }
  } else if (v === null) {
    throw BAIL;
  } else {
    ${next('v')}
  }
}`);
  });
  let body: string;
  if (mode === 'push') {
    body = `${parts.join('\n')}\nreturn s0;`;
  } else {
    const initial = mode === 'any' ? 'false' : 'undefined';
    body = `let r = ${initial};
let n = 0;
${parts.join('\n')}
return function reduce(x) {
  if (x === undefined) return ${initial};
  r = ${initial};
  n = 0;
  s0(x);
  const result = r;
  r = ${initial};
  return result;
};`;
  }
  const walker = new Function('BAIL', 'hasChoiceVariant', body)(BAIL, hasChoiceVariant) as Walker | Reducer;
  walkerCache.set(key, walker);
  return walker;
}

function hasChoiceVariant(record: Record<string, unknown>, name: string): boolean {
  for (const key in record) {
    if (key.length > name.length && key.startsWith(name)) {
      const c = key.charCodeAt(name.length);
      if (c >= 65 && c <= 90) return true;
    }
  }
  return false;
}

function compileIndex(input: Expression, index: number): Expression {
  const buffer: unknown[] = [];
  return (focus, env, out) => {
    clear(buffer);
    input(focus, env, buffer);
    if (index < buffer.length) out.push(buffer[index]);
  };
}

/** Functions over the input collection: FHIRPath N1 sections 5.1-5.6, SQL on FHIR key functions. */
function compileCall(node: CallNode, constants: FastConstants): Expression {
  switch (node.fn) {
    case 'iif':
      return iif(node, constants);
    case 'combine': {
      // combine(x) = input then x (evaluated on $this), duplicates kept.
      const input = compileNode(node.source, constants);
      const other = compileNode(node.args[0] ?? unsupported(), constants);
      return (focus, env, out) => {
        input(focus, env, out);
        other(focus, env, out);
      };
    }
    case 'first':
      return first(node.source, constants);
    case 'exists':
    case 'empty':
    case 'not': {
      const predicate = compilePredicate(node, constants);
      return (focus, env, out) => {
        const value = predicate(focus, env);
        if (value !== undefined) out.push(value);
      };
    }
    default:
      break;
  }
  const input = compileNode(node.source, constants);
  const buffer: unknown[] = [];
  const apply = collectionFunction(node, constants);
  return (focus, env, out) => {
    clear(buffer);
    input(focus, env, buffer);
    apply(buffer, focus, env, out);
  };
}

/** An input collection, the $this its arguments are evaluated on, the output. */
type CollectionFunction = (input: unknown[], focus: unknown, env: EvaluationEnv, out: unknown[]) => void;

function collectionFunction(node: CallNode, constants: FastConstants): CollectionFunction {
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
      const criteria = compilePredicate(arg ?? unsupported(), constants);
      return (input, _focus, env, out) => {
        for (let i = 0; i < input.length; i++) if (criteria(input[i], env) === true) out.push(input[i]);
      };
    }
    case 'select': {
      const projection = compileNode(arg ?? unsupported(), constants);
      return (input, _focus, env, out) => {
        for (let i = 0; i < input.length; i++) projection(input[i], env, out);
      };
    }
    case 'extension':
      return extension(literalString(arg, constants));
    case 'join':
      return join(arg === undefined ? '' : literalString(arg, constants));
    case 'startsWith':
      return stringTest(compileNode(arg ?? unsupported(), constants), (s, x) => s.startsWith(x));
    case 'endsWith':
      return stringTest(compileNode(arg ?? unsupported(), constants), (s, x) => s.endsWith(x));
    case 'contains':
      return stringTest(compileNode(arg ?? unsupported(), constants), (s, x) => s.includes(x));
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

function literalString(node: FastNode | undefined, constants: FastConstants): string {
  const value = node === undefined ? undefined : constantValue(node, constants);
  if (typeof value === 'string') return value;
  return unsupported();
}

/**
 * first(). On a member chain from $this, the walk still runs to the end: a
 * later element may hold what fhirpath.js handles differently (a primitive
 * extension), and the fallback must then see the whole expression.
 */
function first(source: FastNode, constants: FastConstants): Expression {
  const steps = chainFromThis(source);
  if (steps !== undefined) {
    const reduce = memberReducer(steps, 'first');
    return (focus, _env, out) => {
      const value = reduce(focus);
      if (value !== undefined) out.push(value);
    };
  }
  const input = compileNode(source, constants);
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
function iif(node: CallNode, constants: FastConstants): Expression {
  // On another input, fhirpath.js evaluates the branches on the whole input collection.
  if (node.source.kind !== 'this') unsupported();
  const criterion = compileNode(node.args[0] ?? unsupported(), constants);
  const then = compileNode(node.args[1] ?? unsupported(), constants);
  const otherwise = node.args[2] === undefined ? undefined : compileNode(node.args[2], constants);
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
function concatenate(left: Expression, right: Expression): Expression {
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

/**
 * A boolean-valued expression evaluated without a result collection:
 * true, false, or undefined for empty. Used for where/exists criteria and
 * the operands of and/or/implies.
 */
type Predicate = (focus: unknown, env: EvaluationEnv) => boolean | undefined;

function compilePredicate(node: FastNode, constants: FastConstants): Predicate {
  if (node.kind === 'binary' && (node.op === 'and' || node.op === 'or' || node.op === 'implies')) {
    return logicPredicate(
      node.op,
      compilePredicate(node.left, constants),
      compilePredicate(node.right, constants),
    );
  }
  if (node.kind === 'binary' && (node.op === '=' || node.op === '!=')) {
    return equalityPredicate(node.op === '!=', node.left, node.right, constants);
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
    const input = compileNode(source, constants);
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
    const test = compilePredicate(criteria, constants);
    return (focus, env) => {
      clear(buffer);
      input(focus, env, buffer);
      let found = false;
      for (let i = 0; i < buffer.length; i++) if (test(buffer[i], env) === true) found = true;
      return found;
    };
  }
  if (node.kind === 'call' && node.fn === 'not') {
    const operand = compilePredicate(node.source, constants);
    return (focus, env) => {
      const value = operand(focus, env);
      return value === undefined ? undefined : !value;
    };
  }
  const expression = compileNode(node, constants);
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

function compileLogic(op: 'and' | 'or' | 'implies', left: Predicate, right: Predicate): Expression {
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

function compileEquality(
  op: '=' | '!=',
  left: FastNode,
  right: FastNode,
  constants: FastConstants,
): Expression {
  const predicate = equalityPredicate(op === '!=', left, right, constants);
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
  constants: FastConstants,
): Predicate {
  const left = singleton(leftNode, constants);
  const literal = constantValue(rightNode, constants);
  if (typeof literal === 'string' && !mayBeTemporal(literal)) {
    return (focus, env) => {
      const value = left(focus, env);
      if (value === undefined) return undefined;
      if (typeof value !== 'string' || mayBeTemporal(value)) throw BAIL;
      return (value === literal) !== negate;
    };
  }
  const right = singleton(rightNode, constants);
  return (focus, env) => {
    const a = left(focus, env);
    if (a === undefined) return undefined;
    const b = right(focus, env);
    if (b === undefined) return undefined;
    return equalsExactly(a, b) !== negate;
  };
}

/** An operand that must be a singleton: its value, undefined when empty; several items bail. */
function singleton(
  node: FastNode,
  constants: FastConstants,
): (focus: unknown, env: EvaluationEnv) => unknown {
  const steps = chainFromThis(node);
  if (steps !== undefined) {
    const reduce = memberReducer(steps, 'single');
    return (focus) => reduce(focus);
  }
  const value = constantValue(node, constants);
  if (value !== undefined) return () => value;
  const expression = compileNode(node, constants);
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
