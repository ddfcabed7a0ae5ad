import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { shippedViewsDir } from '../schemas/index.ts';
import { compileView, parseViewDefinition, type ViewDefinition } from '../transforms/index.ts';
import { fastPathFallbacks } from '../transforms/viewdef/compile.ts';
import { projectPath } from './helpers/project.ts';

/** The fast engine must return exactly what fhirpath.js returns, row for row, on real Synthea data. */
const FIXTURES = process.env.FHIR_ETL_FIXTURES ?? '/work/shared/fixtures/synthea-r4-50';

const VIEWS: Array<{ file: string; view: Record<string, unknown> }> = [
  {
    file: 'Patient.ndjson',
    view: {
      name: 'patient',
      resource: 'Patient',
      constant: [{ name: 'official', valueString: 'official' }],
      select: [
        {
          column: [
            { name: 'id', path: 'getResourceKey()' },
            { name: 'gender', path: 'gender' },
            { name: 'birth_date', path: 'birthDate' },
            { name: 'deceased', path: 'deceased.ofType(dateTime)' },
            { name: 'family', path: 'name.where(use = %official).family.first()' },
            { name: 'given', path: 'name.given', collection: true },
            { name: 'mrn', path: "identifier.where(type.coding.code = 'MR').value.first()" },
            { name: 'identifier_count', path: 'identifier.count()' },
            {
              name: 'race',
              path: "extension('http://hl7.org/fhir/us/core/StructureDefinition/us-core-race').extension('ombCategory').value.ofType(Coding).code.first()",
            },
            {
              name: 'birth_sex',
              path: "extension('http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex').value.ofType(code)",
            },
            { name: 'has_phone', path: "telecom.where(system = 'phone').exists()" },
            { name: 'not_married', path: "(maritalStatus.coding.code = 'M').not()" },
          ],
        },
        {
          forEach: 'address',
          column: [
            { name: 'address_index', path: '%rowIndex' },
            { name: 'city', path: 'city' },
            { name: 'lines', path: "line.join(', ')" },
          ],
        },
      ],
    },
  },
  {
    file: 'Encounter.ndjson',
    view: {
      name: 'encounter',
      resource: 'Encounter',
      select: [
        {
          column: [
            { name: 'id', path: 'getResourceKey()' },
            { name: 'patient_id', path: 'subject.getReferenceKey(Patient)' },
            { name: 'status', path: 'status' },
            { name: 'class_code', path: 'class.code' },
            { name: 'type_code', path: 'type.coding.code.first()' },
            { name: 'start', path: 'period.start' },
            { name: 'finished', path: "status = 'finished' and period.end.exists()" },
          ],
        },
        {
          forEachOrNull: 'participant',
          column: [{ name: 'practitioner', path: 'individual.getReferenceKey()' }],
        },
      ],
    },
  },
  {
    file: 'ExplanationOfBenefit.ndjson',
    view: {
      name: 'eob_line',
      resource: 'ExplanationOfBenefit',
      select: [
        {
          column: [
            { name: 'eob_id', path: 'getResourceKey()' },
            { name: 'patient_id', path: 'patient.getReferenceKey()' },
          ],
        },
        {
          forEach: 'item',
          column: [
            { name: 'sequence', path: 'sequence' },
            { name: 'service_code', path: 'productOrService.coding.code.first()' },
            { name: 'serviced_from', path: 'serviced.ofType(Period).start' },
            { name: 'net', path: 'net.value' },
            { name: 'adjudication', path: 'adjudication.category.coding.code', collection: true },
          ],
        },
      ],
    },
  },
  {
    file: 'Observation.ndjson',
    view: {
      name: 'observation',
      resource: 'Observation',
      select: [
        {
          column: [
            { name: 'id', path: 'id' },
            { name: 'code', path: 'code.coding.code.first()' },
            { name: 'value', path: 'value.ofType(Quantity).value' },
            { name: 'unit', path: 'value.ofType(Quantity).unit' },
            { name: 'concept', path: 'value.ofType(CodeableConcept).coding.code.first()' },
            { name: 'effective', path: 'effective.ofType(dateTime)' },
          ],
        },
        {
          forEachOrNull: 'component',
          column: [
            { name: 'component_code', path: 'code.coding.code.first()' },
            { name: 'component_value', path: 'value.ofType(Quantity).value' },
          ],
        },
      ],
    },
  },
];

for (const { file, view } of VIEWS) {
  test(`fast and fhirpath engines emit identical rows for ${String(view.name)} over Synthea ${file}`, (t) => {
    const path = join(FIXTURES, file);
    if (!existsSync(path)) {
      t.log(`fixtures absent (${path}); nothing to compare`);
      t.pass();
      return;
    }
    const { resources, rows } = compareEngines(t, parseViewDefinition(view), path);
    t.true(rows > 0);
    t.log(`${resources} resources, ${rows} rows`);
  });
}

/**
 * Runs `definition` on both engines over every resource of an ndjson file and
 * asserts identical rows (or the same error). Logs the expressions whose fast
 * closure bailed to fhirpath.js at run time, with how often.
 */
function compareEngines(
  t: ExecutionContext,
  definition: ViewDefinition,
  path: string,
): { resources: number; rows: number } {
  const bails = new Map<string, number>();
  const fast = compileView(definition, {
    engine: 'fast',
    onBail: (at, expression) => bails.set(`${at} ${expression}`, (bails.get(`${at} ${expression}`) ?? 0) + 1),
  });
  const slow = compileView(definition, { engine: 'fhirpath' });
  let resources = 0;
  let rows = 0;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const resource = JSON.parse(line) as Record<string, unknown>;
    if (resource.resourceType !== definition.resource) continue;
    resources++;
    const expected = outcome(() => slow.emit(resource));
    t.deepEqual(
      outcome(() => fast.emit(resource)),
      expected,
      `${path} ${String(resource.id)}`,
    );
    if (Array.isArray(expected)) rows += expected.length;
  }
  for (const [expression, count] of bails) t.log(`bailed to fhirpath.js ${count}x: ${expression}`);
  return { resources, rows };
}

function outcome(emit: () => unknown[][]): unknown[][] | { error: string } {
  try {
    return emit();
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/** Every shipped view (schemas/views/*.json), on both engines, over Synthea and the committed sample. */
const SAMPLE = projectPath('examples', 'sample');
const SHIPPED = readdirSync(shippedViewsDir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((file) => ({
    file,
    definition: parseViewDefinition(
      JSON.parse(readFileSync(join(shippedViewsDir, file), 'utf8')),
      join(shippedViewsDir, file),
    ),
  }));

/**
 * Shipped-view expressions allowed to run on fhirpath.js, keyed `view.json path`,
 * each with the reason. Empty: every expression of every shipped view is on the
 * fast path. Add an entry here (with a reason) only for an expression the fast
 * subset cannot express exactly.
 */
const ACCEPTED_FALLBACKS: Record<string, string> = {};

test('every expression of every shipped view compiles to the fast path', (t) => {
  t.true(SHIPPED.length >= 19);
  const found: string[] = [];
  for (const { file, definition } of SHIPPED) {
    for (const fallback of fastPathFallbacks(definition)) {
      const key = `${file} ${fallback.path}`;
      if (ACCEPTED_FALLBACKS[key] === undefined)
        found.push(`${key}: ${fallback.expression} (${fallback.reason})`);
    }
  }
  t.deepEqual(found, [], 'expressions falling back to fhirpath.js');
});

for (const { file, definition } of SHIPPED) {
  for (const [label, folder] of [
    ['Synthea', FIXTURES],
    ['sample', SAMPLE],
  ] as const) {
    test(`shipped view ${file}: fast and fhirpath engines emit identical rows over ${label}`, (t) => {
      const path = join(folder, `${definition.resource}.ndjson`);
      if (!existsSync(path)) {
        t.log(`no ${definition.resource} fixtures in ${folder}; nothing to compare`);
        t.pass();
        return;
      }
      const { resources, rows } = compareEngines(t, definition, path);
      t.true(resources > 0);
      t.log(`${resources} resources, ${rows} rows`);
    });
  }
}
