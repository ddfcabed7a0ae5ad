import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { compileView } from './compile.ts';
import { ViewDefinitionError, ViewEvaluationError } from './errors.ts';
import { parseViewDefinition } from './validate.ts';

/**
 * Runs test files in the official SQL on FHIR v2 test format: each file holds resources and
 * cases, each case a view and the rows it must produce (or `expectError`). Rows compare
 * order-insensitively: the spec leaves row order to the implementation. Shared by
 * `fhir-etl view test` and test/viewdef-sql-on-fhir-suite.test.ts.
 * @see test/sql-on-fhir-v2/tests.schema.json
 */

export type SuiteEngine = 'fast' | 'fhirpath';

export interface SuiteCase {
  title: string;
  description?: string;
  tags?: string[];
  view: unknown;
  expect?: Record<string, unknown>[];
  expectError?: boolean;
  expectColumns?: string[];
}

export interface SuiteFile {
  title?: string;
  description?: string;
  resources: Record<string, unknown>[];
  tests: SuiteCase[];
}

export interface SuiteCaseResult {
  title: string;
  passed: boolean;
  /** Why the case failed; undefined when it passed. */
  reason?: string;
  /** Rows produced and rows expected, canonical (one JSON object text per row, sorted), when compared. */
  actual?: string[];
  expected?: string[];
}

/** Runs one case over the file's resources. Never throws for what the view does. */
export function runSuiteCase(
  resources: readonly Record<string, unknown>[],
  testCase: SuiteCase,
  options: { engine?: SuiteEngine } = {},
): SuiteCaseResult {
  const title = testCase.title;
  let result: { names: string[]; rows: Record<string, unknown>[] };
  try {
    result = evaluate(testCase.view, resources, options.engine ?? 'fast');
  } catch (error) {
    if (testCase.expectError) {
      if (error instanceof ViewDefinitionError || error instanceof ViewEvaluationError) {
        return { title, passed: true };
      }
      return { title, passed: false, reason: `expected a view error, got ${describe(error)}` };
    }
    return { title, passed: false, reason: describe(error) };
  }
  if (testCase.expectError) {
    return { title, passed: false, reason: `expected an error, got ${result.rows.length} rows` };
  }
  const { names, rows } = result;
  if (testCase.expectColumns && JSON.stringify(names) !== JSON.stringify(testCase.expectColumns)) {
    return {
      title,
      passed: false,
      reason: `expected columns [${testCase.expectColumns.join(', ')}], got [${names.join(', ')}]`,
    };
  }
  if (!testCase.expect) return { title, passed: true };
  const actual = canonical(rows);
  const expected = canonical(
    testCase.expect.map((row) => Object.fromEntries(names.map((name) => [name, row[name] ?? null]))),
  );
  const reason = compareRows(actual, expected);
  return reason === undefined
    ? { title, passed: true, actual, expected }
    : { title, passed: false, reason, actual, expected };
}

/** Runs every case of a parsed suite file. */
export function runSuiteFile(suite: SuiteFile, options: { engine?: SuiteEngine } = {}): SuiteCaseResult[] {
  return suite.tests.map((testCase) => runSuiteCase(suite.resources ?? [], testCase, options));
}

/** Reads a suite file; throws with the file name when it is not JSON in the test format. */
export async function readSuiteFile(file: string): Promise<SuiteFile> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: ${describe(error)}`, { cause: error });
  }
  const suite = json as Partial<SuiteFile> | null;
  if (typeof suite !== 'object' || suite === null || !Array.isArray(suite.tests)) {
    throw new Error(`${file}: not a SQL on FHIR test file (no "tests" array)`);
  }
  if (suite.resources !== undefined && !Array.isArray(suite.resources)) {
    throw new Error(`${file}: "resources" must be an array`);
  }
  return { ...suite, resources: suite.resources ?? [], tests: suite.tests };
}

/** The suite files a path names: the file itself, or the `*.json` files of a folder, sorted. */
export async function suiteFiles(fileOrDir: string): Promise<string[]> {
  if (!(await stat(fileOrDir)).isDirectory()) return [fileOrDir];
  return (await readdir(fileOrDir, { withFileTypes: true }))
    .filter((entry) => entry.isFile() && entry.name.endsWith('.json'))
    .map((entry) => entry.name)
    .sort()
    .map((name) => join(fileOrDir, name));
}

function evaluate(view: unknown, resources: readonly Record<string, unknown>[], engine: SuiteEngine) {
  const compiled = compileView(parseViewDefinition(view), { engine });
  const names = compiled.columns.map((c) => c.name);
  const rows = resources.flatMap((resource) => compiled.emit(resource));
  return { names, rows: rows.map((row) => Object.fromEntries(names.map((name, i) => [name, row[i]]))) };
}

function canonical(rows: Record<string, unknown>[]): string[] {
  return rows.map((row) => JSON.stringify(row)).sort();
}

/** undefined when the multisets are equal, else what differs. */
function compareRows(actual: string[], expected: string[]): string | undefined {
  const remaining = new Map<string, number>();
  for (const row of expected) remaining.set(row, (remaining.get(row) ?? 0) + 1);
  const unexpected: string[] = [];
  for (const row of actual) {
    const left = remaining.get(row) ?? 0;
    if (left > 0) remaining.set(row, left - 1);
    else unexpected.push(row);
  }
  const missing = [...remaining].flatMap(([row, n]) => Array<string>(n).fill(row));
  if (missing.length === 0 && unexpected.length === 0) return undefined;
  const parts = [`expected ${expected.length} rows, got ${actual.length}`];
  if (missing.length > 0) parts.push(`missing ${sample(missing)}`);
  if (unexpected.length > 0) parts.push(`unexpected ${sample(unexpected)}`);
  return parts.join('; ');
}

function sample(rows: string[]): string {
  const shown = rows.slice(0, 3).join(', ');
  return rows.length > 3 ? `${shown} (+${rows.length - 3} more)` : shown;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
