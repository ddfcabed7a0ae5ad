import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { runSuiteCase, type SuiteFile } from '../transforms/index.ts';
import { projectPath } from './helpers/project.ts';

/**
 * The official SQL on FHIR v2 test suite, once per engine, through the same case runner as
 * `fhir-etl view test` (transforms/viewdef/test-suite.ts). Rows compare order-insensitively.
 * @see test/sql-on-fhir-v2/tests.schema.json
 */
const SUITE = projectPath('test', 'sql-on-fhir-v2', 'tests');

for (const engine of ['fast', 'fhirpath'] as const) {
  for (const file of readdirSync(SUITE)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const suite = JSON.parse(readFileSync(join(SUITE, file), 'utf8')) as SuiteFile;
    for (const testCase of suite.tests) {
      test(`[${engine}] ${file}: ${testCase.title}`, (t) => {
        const result = runSuiteCase(suite.resources, testCase, { engine });
        // Row mismatches as a diff; every other failure by its reason.
        if (result.actual && result.expected) t.deepEqual(result.actual, result.expected);
        t.true(result.passed, result.reason);
      });
    }
  }
}
