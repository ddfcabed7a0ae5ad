import { type Token, tokenize } from './tokenize.ts';

/**
 * The FHIRPath subset the fast engine compiles. Anything else makes
 * `parseFastSubset` return undefined and the expression runs on fhirpath.js.
 * @see SQL on FHIR v2, StructureDefinition-ViewDefinition-notes, "FHIRPath subset"
 */
export type FastNode =
  | { kind: 'this' }
  | { kind: 'literal'; value: string | number | boolean }
  | { kind: 'variable'; name: string }
  | { kind: 'member'; source: FastNode; name: string }
  | { kind: 'index'; source: FastNode; index: number }
  | { kind: 'call'; source: FastNode; fn: FastFunction; args: FastNode[]; text?: string }
  | { kind: 'binary'; op: BinaryOp; left: FastNode; right: FastNode };

export type BinaryOp = '=' | '!=' | 'and' | 'or' | 'implies' | '&';

export type FastFunction =
  | 'exists'
  | 'empty'
  | 'first'
  | 'last'
  | 'count'
  | 'not'
  | 'where'
  | 'ofType'
  | 'extension'
  | 'join'
  | 'getResourceKey'
  | 'getReferenceKey'
  | 'iif'
  | 'combine'
  | 'select'
  | 'startsWith'
  | 'endsWith'
  | 'contains'
  | 'trim';

/** Parses `expression` into the fast subset, or returns undefined when it is outside it. */
export function parseFastSubset(expression: string): FastNode | undefined {
  let tokens: Token[];
  try {
    tokens = tokenize(expression);
  } catch {
    return undefined;
  }
  const parser = new SubsetParser(tokens);
  const node = parser.expression();
  return node !== undefined && parser.atEnd() ? node : undefined;
}

/** Functions taking a type specifier (an identifier, not an expression) as argument. */
const TYPE_ARGUMENT = new Set(['ofType', 'getReferenceKey']);

const ARITY: Record<FastFunction, readonly number[]> = {
  exists: [0, 1],
  empty: [0],
  first: [0],
  last: [0],
  count: [0],
  not: [0],
  where: [1],
  ofType: [1],
  extension: [1],
  join: [0, 1],
  getResourceKey: [0],
  getReferenceKey: [0, 1],
  iif: [2, 3],
  combine: [1],
  select: [1],
  startsWith: [1],
  endsWith: [1],
  contains: [1],
  trim: [0],
};

/**
 * Keywords FHIRPath does not take as an identifier (`as`, `contains`, `in` and `is` it does);
 * written in backticks, any name is one.
 * @see FHIRPath N1, grammar rule `identifier`
 */
const RESERVED = new Set(['and', 'or', 'xor', 'implies', 'mod', 'div', 'true', 'false']);

function isOp(token: Token | undefined, value: string): boolean {
  return token?.kind === 'op' && token.value === value;
}

function isName(token: Token | undefined): token is Token {
  return token?.kind === 'ident' && (token.delimited === true || !RESERVED.has(token.value));
}

/** Recursive descent over the precedence levels the subset uses (FHIRPath N1 section 6.6). */
class SubsetParser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  atEnd(): boolean {
    return this.pos === this.tokens.length;
  }

  expression(): FastNode | undefined {
    return this.binaryLevel(0);
  }

  private static readonly LEVELS: readonly (readonly BinaryOp[])[] = [
    ['implies'],
    ['or'],
    ['and'],
    ['=', '!='],
    ['&'],
  ];

  private binaryLevel(level: number): FastNode | undefined {
    const ops = SubsetParser.LEVELS[level];
    if (ops === undefined) return this.postfix();
    let left = this.binaryLevel(level + 1);
    while (left !== undefined) {
      const t = this.tokens[this.pos];
      const isOperator = t !== undefined && (t.kind === 'op' || (t.kind === 'ident' && t.delimited !== true));
      const op = isOperator ? ops.find((o) => o === t.value) : undefined;
      if (op === undefined) break;
      this.pos++;
      const right = this.binaryLevel(level + 1);
      if (right === undefined) return undefined;
      left = { kind: 'binary', op, left, right };
      // '=' and '!=' do not chain in FHIRPath without parentheses ('&' does, left to right).
      if (level === 3) break;
    }
    return left;
  }

  private postfix(): FastNode | undefined {
    let node = this.term();
    while (node !== undefined) {
      const t = this.tokens[this.pos];
      if (isOp(t, '.')) {
        this.pos++;
        node = this.invocation(node);
      } else if (isOp(t, '[')) {
        const index = this.tokens[this.pos + 1];
        const close = this.tokens[this.pos + 2];
        if (index?.kind !== 'number' || !/^[0-9]+$/.test(index.value) || !isOp(close, ']')) return undefined;
        this.pos += 3;
        node = { kind: 'index', source: node, index: Number(index.value) };
      } else {
        break;
      }
    }
    return node;
  }

  private term(): FastNode | undefined {
    const t = this.tokens[this.pos];
    if (t === undefined) return undefined;
    switch (t.kind) {
      case 'string':
        this.pos++;
        return { kind: 'literal', value: t.value };
      case 'number':
        // Decimals compare by precision in FHIRPath; only integers are exact here.
        if (!/^[0-9]+$/.test(t.value)) return undefined;
        this.pos++;
        return { kind: 'literal', value: Number(t.value) };
      case 'var':
        if (t.delimited !== true && RESERVED.has(t.value)) return undefined;
        this.pos++;
        return { kind: 'variable', name: t.value };
      case 'special':
        if (t.value !== '$this') return undefined;
        this.pos++;
        return { kind: 'this' };
      case 'ident':
        if (t.delimited !== true && (t.value === 'true' || t.value === 'false')) {
          this.pos++;
          return { kind: 'literal', value: t.value === 'true' };
        }
        // A leading capitalised identifier is a type name (Patient.name): leave to fhirpath.js.
        if (/^[A-Z]/.test(t.value)) return undefined;
        return this.invocation({ kind: 'this' });
      case 'op':
        if (t.value !== '(') return undefined;
        {
          this.pos++;
          const inner = this.expression();
          if (inner === undefined || !isOp(this.tokens[this.pos], ')')) return undefined;
          this.pos++;
          return inner;
        }
      default:
        return undefined;
    }
  }

  /** `name` or `fn(args)` applied to `source`. */
  private invocation(source: FastNode): FastNode | undefined {
    const t = this.tokens[this.pos];
    if (!isName(t)) return undefined;
    this.pos++;
    if (!isOp(this.tokens[this.pos], '(')) return { kind: 'member', source, name: t.value };
    this.pos++;
    if (!Object.hasOwn(ARITY, t.value)) return undefined;
    const fn = t.value as FastFunction;
    const args: FastNode[] = [];
    let text: string | undefined;
    if (!isOp(this.tokens[this.pos], ')')) {
      if (TYPE_ARGUMENT.has(fn)) {
        const type = this.tokens[this.pos];
        if (!isName(type) || type.value.includes('.')) return undefined;
        text = type.value;
        this.pos++;
        args.push({ kind: 'literal', value: type.value });
      } else {
        for (;;) {
          const arg = this.expression();
          if (arg === undefined) return undefined;
          args.push(arg);
          if (!isOp(this.tokens[this.pos], ',')) break;
          this.pos++;
        }
      }
      if (!isOp(this.tokens[this.pos], ')')) return undefined;
    }
    this.pos++;
    if (!ARITY[fn].includes(args.length)) return undefined;
    return text === undefined ? { kind: 'call', source, fn, args } : { kind: 'call', source, fn, args, text };
  }
}
