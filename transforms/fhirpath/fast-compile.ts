import { clear, type Expression } from './expression.ts';
import { type FastConstants, type FastContext, UNSUPPORTED, unsupported } from './fast-context.ts';
import { compileCall, concatenate } from './fast-functions.ts';
import { compileEquality, compileLogic, compilePredicate } from './fast-predicates.ts';
import { memberSteps, memberWalker } from './fast-walkers.ts';
import type { FastNode } from './parse.ts';

export type { FastConstants } from './fast-context.ts';

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
  const ctx: FastContext = { constants, compile: (child) => compileNode(child, ctx) };
  try {
    return compileNode(node, ctx);
  } catch (error) {
    if (error === UNSUPPORTED) return undefined;
    throw error;
  }
}

function compileNode(node: FastNode, ctx: FastContext): Expression {
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
      return compileVariable(node.name, ctx.constants);
    case 'member':
      return compileMemberChain(node, ctx);
    case 'index':
      return compileIndex(ctx.compile(node.source), node.index);
    case 'call':
      if (node.fn === 'ofType') return compileMemberChain(node, ctx);
      return compileCall(node, ctx);
    case 'binary':
      if (node.op === '&') return concatenate(ctx.compile(node.left), ctx.compile(node.right));
      if (node.op === '=' || node.op === '!=') return compileEquality(node.op, node.left, node.right, ctx);
      return compileLogic(node.op, compilePredicate(node.left, ctx), compilePredicate(node.right, ctx));
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

/** Collapses `a.b.ofType(T).c` into one walker over plain properties. */
function compileMemberChain(node: FastNode, ctx: FastContext): Expression {
  const { steps, source } = memberSteps(node);
  const walk = memberWalker(steps);
  if (source.kind === 'this') {
    return (focus, _env, out) => {
      if (focus !== undefined) walk(focus, out);
    };
  }
  const input = ctx.compile(source);
  const buffer: unknown[] = [];
  return (focus, env, out) => {
    clear(buffer);
    input(focus, env, buffer);
    for (let i = 0; i < buffer.length; i++) walk(buffer[i], out);
  };
}

function compileIndex(input: Expression, index: number): Expression {
  const buffer: unknown[] = [];
  return (focus, env, out) => {
    clear(buffer);
    input(focus, env, buffer);
    if (index < buffer.length) out.push(buffer[index]);
  };
}
