import { BAIL, type EvaluationEnv, type Expression } from './expression.ts';
import { CHOICE_ELEMENT_NAMES, isKnownType } from './model.ts';
import type { BinaryOp, FastNode } from './parse.ts';
import { referenceKeys, resourceKey } from './reference-key.ts';

/** Values of a view's constants the fast engine may inline (strings, numbers, booleans). */
export type FastConstants = ReadonlyMap<string, string | number | boolean>;

/**
 * Compiles a parsed fast-subset expression to a closure, or returns undefined
 * when some part of it (an unknown variable, ofType on a non-member...) is
 * better left to fhirpath.js. At run time the closure throws BAIL on values it
 * cannot handle exactly; see expression.ts.
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
      return compileBinary(node.op, compileNode(node.left, constants), compileNode(node.right, constants));
  }
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
  extensionName: string;
  choice: boolean;
  guard: string | undefined;
}

/** Collapses `a.b.ofType(T).c` into one walker over plain properties. */
function compileMemberChain(node: FastNode, constants: FastConstants): Expression {
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
  const walk = memberWalker(steps);
  if (source.kind === 'this') {
    return (focus, _env, out) => {
      if (focus !== undefined) walk(focus, 0, out);
    };
  }
  const input = compileNode(source, constants);
  const buffer: unknown[] = [];
  return (focus, env, out) => {
    buffer.length = 0;
    input(focus, env, buffer);
    for (let i = 0; i < buffer.length; i++) walk(buffer[i], 0, out);
  };
}

function memberStep(name: string, guard: string | undefined): MemberStep {
  return { name, extensionName: `_${name}`, choice: CHOICE_ELEMENT_NAMES.has(name), guard };
}

type Walker = (item: unknown, depth: number, out: unknown[]) => void;

/**
 * Walks properties with FHIRPath's implicit flattening of arrays.
 * @see FHIRPath N1, section 5.1 "Path selection" (collections are flattened)
 */
function memberWalker(steps: readonly MemberStep[]): Walker {
  const depthCount = steps.length;
  const walk: Walker = (item, depth, out) => {
    if (depth === depthCount) {
      out.push(item);
      return;
    }
    if (item === null || typeof item !== 'object') throw BAIL; // primitive: may carry `_x` extensions
    const step = steps[depth] as MemberStep;
    const record = item as Record<string, unknown>;
    if (step.guard !== undefined && record[step.guard] !== undefined) throw BAIL;
    const value = record[step.name];
    if (value === undefined) {
      if (record[step.extensionName] !== undefined) throw BAIL;
      if (step.choice && hasChoiceVariant(record, step.name)) throw BAIL;
      return;
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const element = value[i];
        if (element === null) throw BAIL;
        walk(element, depth + 1, out);
      }
    } else if (value === null) {
      throw BAIL;
    } else {
      walk(value, depth + 1, out);
    }
  };
  return walk;
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
    buffer.length = 0;
    input(focus, env, buffer);
    if (index < buffer.length) out.push(buffer[index]);
  };
}

/** Functions over the input collection: FHIRPath N1 sections 5.1-5.4, 5.6, SQL on FHIR key functions. */
function compileCall(node: Extract<FastNode, { kind: 'call' }>, constants: FastConstants): Expression {
  const input = compileNode(node.source, constants);
  const buffer: unknown[] = [];
  const apply = collectionFunction(node, constants);
  return (focus, env, out) => {
    buffer.length = 0;
    input(focus, env, buffer);
    apply(buffer, env, out);
  };
}

type CollectionFunction = (input: unknown[], env: EvaluationEnv, out: unknown[]) => void;

function collectionFunction(
  node: Extract<FastNode, { kind: 'call' }>,
  constants: FastConstants,
): CollectionFunction {
  const arg = node.args[0];
  switch (node.fn) {
    case 'exists':
      if (arg !== undefined) return existsWhere(compileNode(arg, constants));
      return (input, _env, out) => {
        out.push(input.length > 0);
      };
    case 'empty':
      return (input, _env, out) => {
        out.push(input.length === 0);
      };
    case 'first':
      return (input, _env, out) => {
        if (input.length > 0) out.push(input[0]);
      };
    case 'last':
      return (input, _env, out) => {
        if (input.length > 0) out.push(input[input.length - 1]);
      };
    case 'count':
      return (input, _env, out) => {
        out.push(input.length);
      };
    case 'not':
      return (input, _env, out) => {
        const value = singletonBoolean(input);
        if (value !== undefined) out.push(!value);
      };
    case 'where':
      return where(compileNode(arg ?? unsupported(), constants));
    case 'extension':
      return extension(literalString(arg));
    case 'join':
      return join(arg === undefined ? '' : literalString(arg));
    case 'getResourceKey':
      return (_input, env, out) => {
        const key = resourceKey(env.resource);
        if (key !== undefined) out.push(key);
      };
    case 'getReferenceKey': {
      const type = node.text;
      if (type !== undefined && !isKnownType(type)) unsupported();
      return (input, _env, out) => referenceKeys(input, type, out);
    }
    case 'ofType':
      return unsupported();
  }
}

function literalString(node: FastNode | undefined): string {
  if (node?.kind === 'literal' && typeof node.value === 'string') return node.value;
  return unsupported();
}

/** where(criteria): keeps items whose criteria is true; empty counts as false. */
function where(criteria: Expression): CollectionFunction {
  const result: unknown[] = [];
  return (input, env, out) => {
    for (let i = 0; i < input.length; i++) {
      result.length = 0;
      criteria(input[i], env, result);
      if (result.length === 0) continue;
      if (result.length !== 1 || typeof result[0] !== 'boolean') throw BAIL;
      if (result[0]) out.push(input[i]);
    }
  };
}

function existsWhere(criteria: Expression): CollectionFunction {
  const filter = where(criteria);
  const kept: unknown[] = [];
  return (input, env, out) => {
    kept.length = 0;
    filter(input, env, kept);
    out.push(kept.length > 0);
  };
}

/** extension(url) on complex elements; primitives keep extensions in `_x`, left to fhirpath.js. */
function extension(url: string): CollectionFunction {
  return (input, _env, out) => {
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
  return (input, _env, out) => {
    // SQL on FHIR expects '' for an empty collection (fhirpath.js would yield empty).
    for (let i = 0; i < input.length; i++) if (typeof input[i] !== 'string') throw BAIL;
    out.push(input.join(separator));
  };
}

/** Singleton evaluation of a boolean operand: empty -> undefined; anything but one boolean bails. */
function singletonBoolean(input: unknown[]): boolean | undefined {
  if (input.length === 0) return undefined;
  const value = input[0];
  if (input.length !== 1 || typeof value !== 'boolean') throw BAIL;
  return value;
}

function compileBinary(op: BinaryOp, left: Expression, right: Expression): Expression {
  const l: unknown[] = [];
  const r: unknown[] = [];
  if (op === '=' || op === '!=') {
    const negate = op === '!=';
    return (focus, env, out) => {
      l.length = 0;
      r.length = 0;
      left(focus, env, l);
      right(focus, env, r);
      if (l.length === 0 || r.length === 0) return;
      if (l.length !== 1 || r.length !== 1) throw BAIL;
      out.push(equalsExactly(l[0], r[0]) !== negate);
    };
  }
  const combine = LOGIC[op];
  return (focus, env, out) => {
    l.length = 0;
    r.length = 0;
    left(focus, env, l);
    right(focus, env, r);
    const value = combine(singletonBoolean(l), singletonBoolean(r));
    if (value !== undefined) out.push(value);
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

type Logic = (a: boolean | undefined, b: boolean | undefined) => boolean | undefined;

/** Three-valued logic, FHIRPath N1 section 6.5. */
const LOGIC: Record<'and' | 'or' | 'implies', Logic> = {
  and: (a, b) => (a === false || b === false ? false : a === true && b === true ? true : undefined),
  or: (a, b) => (a === true || b === true ? true : a === false && b === false ? false : undefined),
  implies: (a, b) => (a === false ? true : a === true ? b : b === true ? true : undefined),
};
