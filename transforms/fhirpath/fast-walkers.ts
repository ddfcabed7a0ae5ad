import { BAIL } from './expression.ts';
import { unsupported } from './fast-context.ts';
import { CHOICE_ELEMENT_NAMES, isKnownType } from './model.ts';
import type { FastNode } from './parse.ts';

/*
 * Code generation: member chains (`a.b.ofType(T).c`) become generated functions, one small
 * function per step, whose property reads each keep their own inline cache.
 */

/**
 * One step of a member chain: property `name`, or for `x.ofType(T)` the JSON
 * property `xT` with `guard` = `x` (a non-choice element of that name means
 * ofType must filter by type, which only fhirpath.js knows how to do).
 */
export interface MemberStep {
  name: string;
  choice: boolean;
  guard: string | undefined;
}

/** `a.b.ofType(T).c` as plain property steps, and the node the chain starts from. */
export function memberSteps(node: FastNode): { steps: MemberStep[]; source: FastNode } {
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
export function chainFromThis(node: FastNode): MemberStep[] | undefined {
  if (node.kind !== 'member' && !(node.kind === 'call' && node.fn === 'ofType')) return undefined;
  const { steps, source } = memberSteps(node);
  return source.kind === 'this' && steps.length > 0 ? steps : undefined;
}

function memberStep(name: string, guard: string | undefined): MemberStep {
  return { name, choice: CHOICE_ELEMENT_NAMES.has(name), guard };
}

export type Walker = (item: unknown, out: unknown[]) => void;
/** A member chain reduced to one value: the only item, the first item, or whether there is any. */
export type Reducer = (item: unknown) => unknown;

/**
 * What a generated walker does with each item it reaches: push it, keep the
 * only one (a second bails: the caller needs a singleton), keep the first, or
 * note that there is one. Every mode walks the whole chain, so the same values
 * bail in every mode.
 */
type WalkMode = 'push' | 'single' | 'first' | 'any';

const walkerCache = new Map<string, Walker | Reducer>();

export function memberWalker(steps: readonly MemberStep[]): Walker {
  return generatedWalker(steps, 'push');
}

/** A reducer over `steps` from the focus; undefined (empty) on an undefined focus. */
export function memberReducer(steps: readonly MemberStep[], mode: Exclude<WalkMode, 'push'>): Reducer {
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
  // Generated source on purpose (see above): the names in it are JSON.stringify'd, never code.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the walker is compiled from our own template
  const factory = new Function('BAIL', 'hasChoiceVariant', body) as (
    bail: typeof BAIL,
    choice: typeof hasChoiceVariant,
  ) => Walker | Reducer;
  const walker = factory(BAIL, hasChoiceVariant);
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
