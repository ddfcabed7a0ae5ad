import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import { shippedViewsDir } from '../schemas/index.ts';
import { type CompiledView, compileView, parseViewDefinition } from '../transforms/index.ts';

/**
 * Resources per second on one core for three realistic views: the baseline
 * (fhirpath.js, each column compiled once and evaluated per resource) against
 * our engine (fast closures with fhirpath.js fallback), both engines of ours too.
 * Then the shipped views together (view 'all shipped views'): every Synthea
 * resource through every shipped view of its type, counted once per resource.
 */
export async function benchTransforms(): Promise<
  Array<{ view: string; engine: string; resourcesPerSecond: number }>
> {
  const folder = process.env.FHIR_ETL_FIXTURES ?? '/work/shared/fixtures/synthea-r4-50';
  const results: Array<{ view: string; engine: string; resourcesPerSecond: number }> = [];
  for (const { view, file } of BENCH_VIEWS) {
    const path = join(folder, file);
    if (!existsSync(path)) continue;
    const resources = readNdjson(path);
    const definition = parseViewDefinition(view);
    const name = String(view.name);
    results.push({
      view: name,
      engine: 'fhirpath.js baseline',
      resourcesPerSecond: measure(resources, baseline(view)),
    });
    for (const engine of ['fhirpath', 'fast'] as const) {
      const compiled = compileView(definition, { engine });
      results.push({
        view: name,
        engine,
        resourcesPerSecond: measure(resources, (r) => compiled.emit(r).length),
      });
    }
  }
  results.push(...benchShippedViews(folder));
  return results;
}

/** All shipped views over all Synthea resources, on each engine. */
function benchShippedViews(
  folder: string,
): Array<{ view: string; engine: string; resourcesPerSecond: number }> {
  if (!existsSync(folder)) return [];
  const resources = readdirSync(folder)
    .filter((f) => f.endsWith('.ndjson'))
    .sort()
    .flatMap((f) => readNdjson(join(folder, f)));
  const definitions = readdirSync(shippedViewsDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) =>
      parseViewDefinition(
        JSON.parse(readFileSync(join(shippedViewsDir, f), 'utf8')),
        join(shippedViewsDir, f),
      ),
    );
  return (['fhirpath', 'fast'] as const).map((engine) => {
    const byType = new Map<string, CompiledView[]>();
    for (const definition of definitions) {
      const view = compileView(definition, { engine });
      byType.set(view.resource, [...(byType.get(view.resource) ?? []), view]);
    }
    const emit: Emit = (resource) => {
      let rows = 0;
      for (const view of byType.get(resource.resourceType as string) ?? [])
        rows += view.emit(resource).length;
      return rows;
    };
    return { view: 'all shipped views', engine, resourcesPerSecond: measure(resources, emit) };
  });
}

type Emit = (resource: Record<string, unknown>) => number;

/** The baseline has no SQL on FHIR functions: read the raw id / reference instead. */
function plainPath(path: string): string {
  return path.replace('getResourceKey()', 'id').replace(/getReferenceKey\([A-Za-z]*\)/, 'reference');
}

/** Plain fhirpath.js: top-level columns per resource, forEach columns per element. */
function baseline(view: Record<string, unknown>): Emit {
  const select = (view.select as Array<{ column?: Array<{ path: string }>; forEach?: string }>) ?? [];
  const top = select
    .filter((s) => !s.forEach)
    .flatMap((s) => s.column ?? [])
    .map((c) => fhirpath.compile(plainPath(c.path), r4));
  const nested = select.filter((s) => s.forEach);
  const iterations = nested.map((s) => ({
    forEach: fhirpath.compile(s.forEach as string, r4),
    columns: (s.column ?? []).map((c) => fhirpath.compile(plainPath(c.path), r4)),
  }));
  return (resource) => {
    const row = top.map((fn) => fn(resource, {}));
    let rows = 1;
    for (const { forEach, columns } of iterations) {
      const items = forEach(resource, {}) as object[];
      rows = items.length;
      for (const item of items) for (const fn of columns) row.push(fn(item, {}));
    }
    return rows;
  };
}

function measure(resources: Record<string, unknown>[], emit: Emit): number {
  for (let i = 0; i < Math.min(resources.length, 500); i++) emit(resources[i] as Record<string, unknown>);
  let count = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < 1.5) {
    for (const resource of resources) emit(resource);
    count += resources.length;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  }
  return Math.round(count / elapsed);
}

function readNdjson(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const BENCH_VIEWS: Array<{ file: string; view: Record<string, unknown> }> = [
  {
    file: 'Patient.ndjson',
    view: {
      resourceType: 'ViewDefinition',
      name: 'patient',
      resource: 'Patient',
      select: [
        {
          column: [
            { name: 'id', path: 'getResourceKey()' },
            { name: 'gender', path: 'gender' },
            { name: 'birth_date', path: 'birthDate' },
            { name: 'deceased', path: 'deceased.ofType(dateTime)' },
            { name: 'family', path: "name.where(use = 'official').family.first()" },
            { name: 'given', path: "name.where(use = 'official').given.join(' ')" },
            { name: 'mrn', path: "identifier.where(type.coding.code = 'MR').value.first()" },
            {
              name: 'ssn',
              path: "identifier.where(system = 'http://hl7.org/fhir/sid/us-ssn').value.first()",
            },
            {
              name: 'race',
              path: "extension('http://hl7.org/fhir/us/core/StructureDefinition/us-core-race').extension('ombCategory').value.ofType(Coding).code.first()",
            },
            { name: 'city', path: 'address.city.first()' },
          ],
        },
      ],
    },
  },
  {
    file: 'Encounter.ndjson',
    view: {
      resourceType: 'ViewDefinition',
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
            { name: 'type_text', path: 'type.text.first()' },
            { name: 'period_start', path: 'period.start' },
            { name: 'period_end', path: 'period.end' },
            { name: 'provider_id', path: 'serviceProvider.getReferenceKey()' },
            { name: 'reason_code', path: 'reasonCode.coding.code.first()' },
          ],
        },
      ],
    },
  },
  {
    file: 'ExplanationOfBenefit.ndjson',
    view: {
      resourceType: 'ViewDefinition',
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
            { name: 'currency', path: 'net.currency' },
            { name: 'category', path: 'category.coding.code.first()' },
          ],
        },
      ],
    },
  },
];

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = await benchTransforms();
  const baselines = new Map(
    results.filter((r) => r.engine.includes('baseline')).map((r) => [r.view, r.resourcesPerSecond]),
  );
  // The shipped views have no plain fhirpath.js baseline; compare with our fhirpath engine.
  for (const r of results) {
    if (r.engine === 'fhirpath' && !baselines.has(r.view)) baselines.set(r.view, r.resourcesPerSecond);
  }
  console.log('view               engine                 resources/s   vs baseline');
  for (const r of results) {
    const ratio = r.resourcesPerSecond / (baselines.get(r.view) ?? r.resourcesPerSecond);
    console.log(
      `${r.view.padEnd(18)} ${r.engine.padEnd(22)} ${String(r.resourcesPerSecond).padStart(11)}   ${ratio.toFixed(1)}x`,
    );
  }
}
