/**
 * A lexer for the full FHIRPath grammar. The fast engine's parser reads its tokens,
 * and view validation uses them to find `%name` references outside string literals.
 * @see FHIRPath N1, section 9 "Lexical elements" (http://hl7.org/fhirpath/N1/#lexical-elements)
 */
export type TokenKind = 'ident' | 'string' | 'number' | 'datetime' | 'var' | 'special' | 'op';

export interface Token {
  kind: TokenKind;
  /** Identifier name, unescaped string, variable name, number text, or operator text. */
  value: string;
  /** A name written in backticks or quotes (`%'x'`), which may be any name, a keyword included. */
  delimited?: boolean;
  /** Offset of the token in the expression, for substitutions. */
  start: number;
  end: number;
}

/** Tokenizes `expression`; throws Error on text FHIRPath cannot lex. */
export function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = expression.length;
  while (i < n) {
    const c = expression.charAt(i);
    if (/\s/.test(c)) {
      i++;
    } else if (expression.startsWith('//', i)) {
      const nl = expression.indexOf('\n', i);
      i = nl < 0 ? n : nl;
    } else if (expression.startsWith('/*', i)) {
      const close = expression.indexOf('*/', i + 2);
      if (close < 0) throw new Error('unterminated comment');
      i = close + 2;
    } else if (c === "'" || c === '`') {
      const end = closingQuote(expression, i);
      const value = unescapeText(expression.slice(i + 1, end));
      tokens.push(
        c === "'"
          ? { kind: 'string', value, start: i, end: end + 1 }
          : { kind: 'ident', value, delimited: true, start: i, end: end + 1 },
      );
      i = end + 1;
    } else if (c === '%') {
      const next = expression.charAt(i + 1);
      if (next === "'" || next === '`') {
        const end = closingQuote(expression, i + 1);
        tokens.push({
          kind: 'var',
          value: unescapeText(expression.slice(i + 2, end)),
          delimited: true,
          start: i,
          end: end + 1,
        });
        i = end + 1;
      } else {
        const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(expression.slice(i + 1));
        if (!m) throw new Error(`invalid variable at ${i}`);
        tokens.push({ kind: 'var', value: m[0], start: i, end: i + 1 + m[0].length });
        i += 1 + m[0].length;
      }
    } else if (c === '@') {
      const m = /^@[0-9T:.+\-Z]*/.exec(expression.slice(i));
      const text = m?.[0] ?? '@';
      if (text.length < 2) throw new Error(`invalid date/time literal at ${i}`);
      tokens.push({ kind: 'datetime', value: text, start: i, end: i + text.length });
      i += text.length;
    } else if (c === '$') {
      const m = /^\$(this|index|total)/.exec(expression.slice(i));
      if (!m) throw new Error(`invalid special variable at ${i}`);
      tokens.push({ kind: 'special', value: m[0], start: i, end: i + m[0].length });
      i += m[0].length;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?L?/.exec(expression.slice(i)) as RegExpExecArray;
      tokens.push({ kind: 'number', value: m[0], start: i, end: i + m[0].length });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(expression.slice(i)) as RegExpExecArray;
      tokens.push({ kind: 'ident', value: m[0], start: i, end: i + m[0].length });
      i += m[0].length;
    } else {
      const op = /^(!=|!~|<=|>=|[-+*/&|=~<>()[\]{},.])/.exec(expression.slice(i));
      if (!op) throw new Error(`unexpected character '${c}' at ${i}`);
      tokens.push({ kind: 'op', value: op[0], start: i, end: i + op[0].length });
      i += op[0].length;
    }
  }
  return tokens;
}

/** Names of the `%variables` an expression references. */
export function referencedVariables(expression: string): string[] {
  return tokenize(expression)
    .filter((t) => t.kind === 'var')
    .map((t) => t.value);
}

function closingQuote(text: string, open: number): number {
  const quote = text.charAt(open);
  for (let i = open + 1; i < text.length; i++) {
    const c = text.charAt(i);
    if (c === '\\') i++;
    else if (c === quote) return i;
  }
  throw new Error(`unterminated ${quote === "'" ? 'string' : 'identifier'} at ${open}`);
}

const ESCAPES: Record<string, string> = {
  n: '\n',
  r: '\r',
  t: '\t',
  f: '\f',
  '\\': '\\',
  '/': '/',
  "'": "'",
  '`': '`',
  '"': '"',
};

function unescapeText(raw: string): string {
  return raw.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, e: string) =>
    e.length === 5 ? String.fromCharCode(Number.parseInt(e.slice(1), 16)) : (ESCAPES[e] ?? e),
  );
}
