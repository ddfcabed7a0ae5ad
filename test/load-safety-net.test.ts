import { sql } from '@databases/pg';
import test from 'ava';
import { type FileLoadResult, loadFile, type ResourceRecord, type ViewTable } from '../loaders/index.ts';
import { prepareLoad } from '../pipeline/ingest.ts';
import { compileView, parseResourceLine, parseViewDefinition } from '../transforms/index.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

// Issue 11, the safety net under the value checks: whatever a COPY still refuses for one row
// never costs the file. The test-only hook: a view table whose birth_date encoder lets any
// text through unchecked (as a gap in the checks would), and resources handed to loadFile
// without the line checks (a meta.lastUpdated PostgreSQL refuses).

const warehouse = useTestWarehouse(test);

const definition = parseViewDefinition({
  resourceType: 'ViewDefinition',
  name: 'net_patient',
  resource: 'Patient',
  select: [
    {
      column: [
        { name: 'id', path: 'getResourceKey()', type: 'id' },
        { name: 'birth_date', path: 'birthDate', type: 'date' },
      ],
    },
  ],
});

async function context() {
  const ctx = await prepareLoad(warehouse.db, { views: [compileView(definition)] });
  const table = ctx.viewTables[0] as ViewTable;
  // The hook: birth_date unchecked.
  table.encoders[1] = (value) => (typeof value === 'string' ? value : '\\N');
  return ctx;
}

async function runId(): Promise<number> {
  const [row] = await warehouse.db.query(
    sql`INSERT INTO fhir_etl.runs (command, source, status) VALUES ('load', 'net', 'running') RETURNING id`,
  );
  return row.id;
}

function patients(ids: string[], birthDate: (id: string) => string, lastUpdated?: string): ResourceRecord[] {
  return ids.map((id, i) => {
    const record = parseResourceLine(
      JSON.stringify({
        resourceType: 'Patient',
        id,
        birthDate: birthDate(id),
        meta: { lastUpdated: lastUpdated ?? '2024-01-01T00:00:00Z' },
      }),
      i + 1,
    ) as ResourceRecord;
    return record;
  });
}

async function load(fileKey: string, records: ResourceRecord[]): Promise<FileLoadResult> {
  const ctx = await context();
  async function* stream() {
    yield* records;
  }
  return loadFile(warehouse.db, { source: 'net', fileKey, path: fileKey, runId: await runId() }, stream(), {
    rawTables: ctx.rawTables,
    targets: ctx.targets(),
    // Small batches: the bad rows sit in different batches among good ones.
    batchBytes: 4096,
    directBatchBytes: 4096,
  });
}

const ids = Array.from({ length: 300 }, (_, i) => `p${i}`);
const badIds = new Set(['p7', 'p150', 'p151', 'p299']);

for (const path of ['direct', 'staged'] as const) {
  test.serial(
    `a view row PostgreSQL refuses is found, rejected with its message, and the rest loads (${path} path)`,
    async (t) => {
      if (path === 'staged') {
        // Stored already (older): this file's copies are staged and merged.
        await warehouse.db.query(sql`DELETE FROM fhir_raw.patient WHERE source = 'net'`);
        await warehouse.db.query(sql`DELETE FROM fhir.net_patient WHERE _source = 'net'`);
        await load(
          'net-older',
          patients(ids, () => '1999-01-01', '2020-01-01T00:00:00Z'),
        );
      }
      const result = await load(
        `net-${path}`,
        patients(
          ids,
          (id) => (badIds.has(id) ? '1970-02-30' : '1980-05-06'),
          `2024-0${path === 'direct' ? 1 : 2}-01T00:00:00Z`,
        ),
      );
      t.is(result.status, 'loaded');
      t.is(result.resources, 300);
      t.is(result.rejects, badIds.size);
      const rejects = await warehouse.db.query(sql`
      SELECT line::int, resource_type, resource_id, reason FROM fhir_etl.rejects
      WHERE file = ${`net-${path}`} ORDER BY line`);
      t.deepEqual(
        rejects.map((r) => r.resource_id),
        [...badIds],
      );
      t.deepEqual(
        rejects.map((r) => r.line),
        [8, 151, 152, 300],
      );
      for (const reject of rejects) {
        t.regex(
          reject.reason,
          /^view net_patient: PostgreSQL refused a row: date\/time field value out of range: "1970-02-30"/,
        );
      }
      const [raw] = await warehouse.db.query(
        sql`SELECT count(*)::int AS n FROM fhir_raw.patient WHERE source = 'net' AND last_updated = ${`2024-0${path === 'direct' ? 1 : 2}-01T00:00:00Z`}`,
      );
      t.is(raw.n, 300, 'every resource is in fhir_raw');
      const rows = await warehouse.db.query(
        sql`SELECT _resource_id AS id, birth_date::text FROM fhir.net_patient WHERE _source = 'net'`,
      );
      const good = rows.filter((r) => r.birth_date === '1980-05-06');
      t.is(good.length, 296, 'every other row, once');
      t.is(new Set(rows.map((r) => r.id)).size, rows.length);
    },
  );
}

test.serial(
  'a resource PostgreSQL refuses (a lastUpdated that does not exist) is rejected alone',
  async (t) => {
    await warehouse.db.query(sql`DELETE FROM fhir_raw.patient WHERE source = 'net'`);
    await warehouse.db.query(sql`DELETE FROM fhir.net_patient WHERE _source = 'net'`);
    const records = patients(ids.slice(0, 50), () => '1980-05-06');
    // The hook: past the line checks.
    (records[20] as { lastUpdated: string | null }).lastUpdated = '2023-02-30T00:00:00Z';
    const result = await load('net-raw', records);
    t.is(result.status, 'loaded');
    t.is(result.resources, 49);
    t.is(result.rejects, 1);
    const [reject] = await warehouse.db.query(
      sql`SELECT line::int, resource_id, reason, raw FROM fhir_etl.rejects WHERE file = 'net-raw'`,
    );
    t.like(reject, { line: 21, resource_id: 'p20' });
    t.regex(reject.reason, /^PostgreSQL refused the resource: .*2023-02-30.* \(it is not in fhir_raw\)$/);
    t.true(reject.raw.startsWith('{"resourceType":"Patient","id":"p20"'));
    const [counts] = await warehouse.db.query(sql`
    SELECT (SELECT count(*)::int FROM fhir_raw.patient WHERE source = 'net') AS raw,
           (SELECT count(*)::int FROM fhir.net_patient WHERE _source = 'net') AS rows,
           (SELECT count(*)::int FROM fhir.net_patient WHERE _source = 'net' AND _resource_id = 'p20') AS p20`);
    t.deepEqual(counts, { raw: 49, rows: 49, p20: 0 });
  },
);
