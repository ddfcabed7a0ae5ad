import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import {
  compileView,
  parseViewDefinition,
  ViewDefinitionError,
  ViewEvaluationError,
} from '../transforms/index.ts';

/**
 * The official SQL on FHIR v2 test suite, once per engine. Rows compare
 * order-insensitively: the spec leaves row order to the implementation.
 * @see test/sql-on-fhir-v2/tests.schema.json
 */
const SUITE = join(dirname(fileURLToPath(import.meta.url)), 'sql-on-fhir-v2', 'tests');

interface SuiteCase {
  title: string;
  view: unknown;
  expect?: Record<string, unknown>[];
  expectError?: boolean;
  expectColumns?: string[];
}

interface SuiteFile {
  resources: Record<string, unknown>[];
  tests: SuiteCase[];
}

function run(view: unknown, resources: Record<string, unknown>[], engine: 'fast' | 'fhirpath') {
  const compiled = compileView(parseViewDefinition(view), { engine });
  const rows = resources.flatMap((resource) => compiled.emit(resource));
  const names = compiled.columns.map((c) => c.name);
  return { names, rows: rows.map((row) => Object.fromEntries(names.map((name, i) => [name, row[i]]))) };
}

const canonical = (rows: Record<string, unknown>[]) => rows.map((row) => JSON.stringify(row)).sort();

for (const engine of ['fast', 'fhirpath'] as const) {
  for (const file of readdirSync(SUITE)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const suite = JSON.parse(readFileSync(join(SUITE, file), 'utf8')) as SuiteFile;
    for (const testCase of suite.tests) {
      test(`[${engine}] ${file}: ${testCase.title}`, (t) => {
        if (testCase.expectError) {
          const error = t.throws(() => run(testCase.view, suite.resources, engine));
          t.true(error instanceof ViewDefinitionError || error instanceof ViewEvaluationError, String(error));
          return;
        }
        const { names, rows } = run(testCase.view, suite.resources, engine);
        if (testCase.expectColumns) t.deepEqual(names, testCase.expectColumns);
        if (testCase.expect) {
          const expected = testCase.expect.map((row) =>
            Object.fromEntries(names.map((name) => [name, row[name] ?? null])),
          );
          t.deepEqual(canonical(rows), canonical(expected));
        }
      });
    }
  }
}
