import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import fhirpath from 'fhirpath';
import { parseFastSubset } from '../transforms/fhirpath/parse.ts';
import { tokenize } from '../transforms/fhirpath/tokenize.ts';
import { projectPath } from './helpers/project.ts';

/**
 * View validation trusts the fast subset's parser: an expression it parses is not handed to
 * fhirpath.js's parser. So everything it parses must be valid FHIRPath. Checked on every
 * expression of the shipped views and of the SQL on FHIR suite, and on each of them broken
 * in the ways a typo breaks text: cut short, a character dropped, doubled or swapped, or one
 * of FHIRPath's punctuation characters or keywords slipped in.
 */
const EXPRESSION_KEYS = new Set(['path', 'forEach', 'forEachOrNull', 'repeat']);

function expressionsIn(value: unknown, out: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) expressionsIn(item, out);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const [key, child] of Object.entries(value)) {
    const isExpression = EXPRESSION_KEYS.has(key);
    if (isExpression && typeof child === 'string') out.add(child);
    else if (isExpression && Array.isArray(child)) {
      for (const item of child) if (typeof item === 'string') out.add(item); // repeat: [paths]
    } else expressionsIn(child, out);
  }
}

function jsonFiles(dir: string): unknown[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as unknown);
}

const SLIPS = ["'", '%', '`', '(', ')', ',', ' and ', 'true'];

function typos(text: string): string[] {
  const variants: string[] = [];
  for (let i = 0; i <= text.length; i++) {
    for (const slip of SLIPS) variants.push(text.slice(0, i) + slip + text.slice(i));
  }
  for (let i = 0; i < text.length; i++) {
    variants.push(text.slice(0, i)); // cut short
    variants.push(text.slice(0, i) + text.slice(i + 1)); // dropped
    variants.push(text.slice(0, i + 1) + text.slice(i)); // doubled
    if (i + 1 < text.length) variants.push(text.slice(0, i) + text[i + 1] + text[i] + text.slice(i + 2)); // swapped
  }
  return variants;
}

/**
 * The text with every plain name made one name: to the grammar all plain names are alike, so
 * fhirpath.js need parse only one text of each shape. Keywords, names in backticks, strings
 * and numbers keep their text.
 */
function shape(text: string): string {
  return tokenize(text)
    .map((token) => {
      const raw = text.slice(token.start, token.end);
      const plainName = token.kind === 'ident' && /^[a-z_][A-Za-z0-9_]*$/.test(raw) && !KEYWORDS.has(raw);
      return plainName ? 'name' : raw;
    })
    .join(' ');
}

const KEYWORDS = new Set([
  'and',
  'or',
  'xor',
  'implies',
  'mod',
  'div',
  'true',
  'false',
  'as',
  'is',
  'in',
  'contains',
]);

function fhirpathJsParses(text: string): boolean {
  try {
    fhirpath.parse(text);
    return true;
  } catch {
    return false;
  }
}

test('every expression the fast subset parses, typos included, is valid FHIRPath to fhirpath.js', (t) => {
  const expressions = new Set<string>();
  for (const view of jsonFiles(projectPath('schemas', 'views'))) expressionsIn(view, expressions);
  for (const suite of jsonFiles(projectPath('test', 'sql-on-fhir-v2', 'tests'))) {
    expressionsIn((suite as { tests: unknown }).tests, expressions);
  }
  t.true(expressions.size > 300, `expressions found: ${expressions.size}`);

  const accepted = new Map<string, string>(); // shape -> one text of that shape
  for (const expression of expressions) {
    for (const text of [expression, ...typos(expression)]) {
      if (text.trim() !== '' && parseFastSubset(text) !== undefined) accepted.set(shape(text), text);
    }
  }
  const invalid = [...accepted.values()].filter((text) => !fhirpathJsParses(text));
  t.deepEqual(invalid, [], 'parsed by the fast subset, refused by fhirpath.js');
  t.log(`${expressions.size} expressions; ${accepted.size} shapes the fast subset accepts, typos included`);
});
