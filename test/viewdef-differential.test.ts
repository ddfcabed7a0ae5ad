import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { compileView, parseViewDefinition } from '../transforms/index.ts';

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
    const definition = parseViewDefinition(view);
    const fast = compileView(definition, { engine: 'fast' });
    const slow = compileView(definition, { engine: 'fhirpath' });
    const lines = readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '');
    let rows = 0;
    for (const line of lines) {
      const resource = JSON.parse(line) as Record<string, unknown>;
      const expected = slow.emit(resource);
      t.deepEqual(fast.emit(resource), expected, `${file} ${String(resource.id)}`);
      rows += expected.length;
    }
    t.true(rows > 0);
    t.log(`${lines.length} resources, ${rows} rows`);
  });
}
