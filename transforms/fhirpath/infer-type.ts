import { memberTypePath } from './model.ts';
import type { FastNode } from './parse.ts';

/**
 * The FHIR type path of what `node` yields when evaluated on an element at
 * `context`: a data type name (`HumanName`, `string`), a backbone element path
 * (`ExplanationOfBenefit.item`), or undefined when not statically known.
 * Used for column types and as the fhirpath.js `base` inside forEach.
 */
export function typePathOf(node: FastNode | undefined, context: string | undefined): string | undefined {
  if (node === undefined) return undefined;
  switch (node.kind) {
    case 'this':
      return context;
    case 'literal':
      return typeof node.value === 'string'
        ? 'string'
        : typeof node.value === 'boolean'
          ? 'boolean'
          : 'integer';
    case 'variable':
      return node.name === 'rowIndex' ? 'integer' : undefined;
    case 'member':
      return memberTypePath(typePathOf(node.source, context), node.name);
    case 'index':
      return typePathOf(node.source, context);
    case 'binary':
      return node.op === '&' ? 'string' : 'boolean';
    case 'call':
      return callType(node, context);
  }
}

function callType(
  node: Extract<FastNode, { kind: 'call' }>,
  context: string | undefined,
): string | undefined {
  switch (node.fn) {
    case 'first':
    case 'last':
    case 'where':
      return typePathOf(node.source, context);
    case 'ofType':
      return node.text;
    case 'extension':
      return 'Extension';
    case 'iif': {
      const focus = typePathOf(node.source, context);
      return sameType(typePathOf(node.args[1], focus), typePathOf(node.args[2] ?? node.args[1], focus));
    }
    case 'combine':
      return sameType(typePathOf(node.source, context), typePathOf(node.args[0], context));
    case 'select':
      return typePathOf(node.args[0], typePathOf(node.source, context));
    case 'exists':
    case 'empty':
    case 'not':
    case 'startsWith':
    case 'endsWith':
    case 'contains':
      return 'boolean';
    case 'trim':
      return 'string';
    case 'count':
      return 'integer';
    case 'join':
    case 'getResourceKey':
    case 'getReferenceKey':
      return 'string';
  }
}

function sameType(a: string | undefined, b: string | undefined): string | undefined {
  return a === b ? a : undefined;
}
