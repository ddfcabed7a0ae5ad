import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import test from 'ava';
import { configuredViews } from '../pipeline/views.ts';
import { compileView, parseViewDefinition } from '../transforms/index.ts';
import { SAMPLE_DIR } from './helpers/fixtures.ts';

/**
 * fhirpath.js is loaded only when an expression needs it: every shipped view compiles to the
 * fast engine, so validating, compiling and running them must not pay for its load (about
 * 0.1 s of CPU at every start of the command) or its parser.
 */
const requireHere = createRequire(import.meta.url);

/** fhirpath.js's engine (its model, which the fast engine shares, does not count). */
function fhirpathJsLoaded(): boolean {
  return Object.keys(requireHere.cache).some((path) => /node_modules[\\/]fhirpath[\\/]src[\\/]/.test(path));
}

function sampleResources(): Record<string, unknown>[] {
  return readdirSync(SAMPLE_DIR)
    .filter((name) => name.endsWith('.ndjson'))
    .flatMap((name) => readFileSync(join(SAMPLE_DIR, name), 'utf8').split('\n'))
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

// One test: the check reads this process's module cache, so nothing may run beside it.
test('the shipped views run without fhirpath.js; a view that needs it loads it', async (t) => {
  const views = await configuredViews();
  let rows = 0;
  for (const resource of sampleResources()) for (const view of views) rows += view.emit(resource).length;
  t.true(rows > 100, `the sample produced rows (${rows})`);
  t.false(fhirpathJsLoaded(), 'validating, compiling and running the shipped views loaded fhirpath.js');

  const view = compileView(
    parseViewDefinition({
      resourceType: 'ViewDefinition',
      name: 'upper_names',
      resource: 'Patient',
      status: 'active',
      select: [{ column: [{ name: 'family', path: 'name.first().family.upper()' }] }],
    }),
  );
  t.true(fhirpathJsLoaded(), 'an expression outside the fast subset loaded fhirpath.js');
  t.deepEqual(view.emit({ resourceType: 'Patient', id: 'p', name: [{ family: 'Nguyen' }] }), [['NGUYEN']]);
});
