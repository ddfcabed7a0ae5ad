import { sql } from '@databases/pg';
import test from 'ava';
import { type LoadContext, prepareLoad } from '../pipeline/ingest.ts';
import { type FileLoadResult, loadFile, type ResourceRecord, type LoadTarget } from '../loaders/index.ts';
import type { TargetBatch } from '../loaders/raw/load-target.ts';
import { compileView, parseResourceLine, parseViewDefinition } from '../transforms/index.ts';
import { eventually } from './helpers/eventually.ts';
import { createTestWarehouse, type TestWarehouse } from './helpers/warehouse.ts';

// The direct path of loaders/raw/load-file.ts: a type whose ids are new to fhir_raw is COPYed
// straight into it (and its view rows into the view tables), else through the staged merge.
// A spy around the view target tells which path each resource took.

let warehouse: TestWarehouse;
let ctx: LoadContext;
let runId = 0;

test.before(async () => {
  warehouse = await createTestWarehouse();
  const definition = parseViewDefinition({
    resourceType: 'ViewDefinition',
    name: 'patient_family',
    resource: 'Patient',
    status: 'active',
    select: [
      { column: [{ name: 'id', path: 'getResourceKey()' }] },
      { forEach: 'name', column: [{ name: 'family', path: 'family' }] },
    ],
  });
  ctx = await prepareLoad(warehouse.db, { views: [compileView(definition)] });
  const [row] = await warehouse.db.query(
    sql`INSERT INTO fhir_etl.runs (command, source, status) VALUES ('load', 's', 'running') RETURNING id`,
  );
  runId = row.id;
});
test.after.always(async () => {
  await warehouse?.drop();
});

interface Paths {
  /** Resources added while their type was on the direct path. */
  direct: number;
  staged: number;
  /** Direct batches that landed, and those refused (id taken) and staged instead. */
  landed: number;
  demoted: number;
}

function spy(target: LoadTarget, paths: Paths): LoadTarget {
  return {
    begin: (tx) => target.begin(tx),
    add(record, seq, direct) {
      if (direct) paths.direct++;
      else paths.staged++;
      return target.add(record, seq, direct);
    },
    get full() {
      return target.full;
    },
    finish: (tx, file, merged) => target.finish(tx, file, merged),
    take(): TargetBatch {
      const batch = target.take();
      return {
        copyDirect: (tx, file, type) => batch.copyDirect(tx, file, type),
        landed(type) {
          paths.landed++;
          batch.landed(type);
        },
        demote(type) {
          paths.demoted++;
          batch.demote(type);
        },
        stagedCopies: (tx) => batch.stagedCopies(tx),
      };
    },
  };
}

let fileNumber = 0;
async function load(
  resources: object[],
  options: { batchBytes?: number } = {},
): Promise<{ result: FileLoadResult; paths: Paths }> {
  const paths: Paths = { direct: 0, staged: 0, landed: 0, demoted: 0 };
  async function* records(): AsyncGenerator<ResourceRecord> {
    for (const [i, resource] of resources.entries()) {
      yield parseResourceLine(JSON.stringify(resource), i + 1) as ResourceRecord;
      // Lets a concurrent load interleave its batches with this one's.
      if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }
  const name = `f${++fileNumber}`;
  const result = await loadFile(warehouse.db, { source: 's', fileKey: name, path: name, runId }, records(), {
    rawTables: ctx.rawTables,
    targets: ctx.targets().map((target) => spy(target, paths)),
    batchBytes: options.batchBytes,
    directBatchBytes: options.batchBytes,
  });
  return { result, paths };
}

function patient(id: string, family: string, meta?: { lastUpdated?: string; versionId?: string }) {
  return { resourceType: 'Patient', id, ...(meta ? { meta } : {}), name: [{ family }] };
}

async function stored(): Promise<Map<string, string>> {
  const rows: Array<{ id: string; family: string }> = await warehouse.db.query(
    sql`SELECT id, resource #>> '{name,0,family}' AS family FROM fhir_raw.patient WHERE source = 's'`,
  );
  return new Map(rows.map((r) => [r.id, r.family]));
}

/** Each stored patient must have exactly its own family as view rows: no stale, no missing. */
async function assertViewMatchesRaw(t: import('ava').ExecutionContext): Promise<void> {
  const mismatched = await warehouse.db.query(sql`
    SELECT p.id FROM fhir_raw.patient p
    FULL JOIN fhir.patient_family v ON v._source = p.source AND v._resource_id = p.id
    WHERE p.id IS NULL OR v._resource_id IS NULL OR v.family IS DISTINCT FROM p.resource #>> '{name,0,family}'`);
  t.deepEqual(mismatched, []);
  const [dupes] = await warehouse.db.query(sql`
    SELECT count(*)::int AS n FROM (SELECT _resource_id FROM fhir.patient_family GROUP BY 1 HAVING count(*) > 1) d`);
  t.is(dupes.n, 0);
}

test.serial('a first load of a type copies straight into fhir_raw and the views', async (t) => {
  const { result, paths } = await load(
    Array.from({ length: 300 }, (_, i) => patient(`a${i}`, `A${i}`)),
    { batchBytes: 4096 },
  );
  t.deepEqual(paths, { direct: 300, staged: 0, landed: paths.landed, demoted: 0 });
  t.true(paths.landed > 1);
  t.deepEqual(result.counts, { Patient: { resources: 300, inserted: 300, updated: 0 } });
  t.deepEqual(result.viewCounts, { patient_family: 300 });
  t.is((await stored()).size, 300);
  await assertViewMatchesRaw(t);
});

test.serial('a type the source already has rows of goes through the merge, newest wins', async (t) => {
  const { result, paths } = await load([
    patient('a1', 'A1-new', { lastUpdated: '2025-01-01T00:00:00Z' }),
    patient('b1', 'B1'),
  ]);
  t.is(paths.direct, 0);
  t.is(paths.staged, 2);
  t.deepEqual(result.counts, { Patient: { resources: 2, inserted: 1, updated: 1 } });
  const rows = await stored();
  t.is(rows.get('a1'), 'A1-new');
  t.is(rows.get('b1'), 'B1');
  await assertViewMatchesRaw(t);
});

test.serial(
  'a file repeating an id leaves the direct path at the repeat; the file’s own rule decides',
  async (t) => {
    await warehouse.db.query(sql`TRUNCATE fhir_raw.patient, fhir.patient_family`);
    const filler = Array.from({ length: 100 }, (_, i) => patient(`f${i}`, `F${i}`));
    const { result, paths } = await load(
      [
        // Copied directly, then repeated: the later copy is newer and wins.
        patient('r1', 'R1-old', { lastUpdated: '2024-01-01T00:00:00Z' }),
        // Copied directly, then repeated without lastUpdated: a copy with one sorts first, it stays.
        patient('r2', 'R2-dated', { lastUpdated: '2024-01-01T00:00:00Z' }),
        // Copied directly with versionId 3, then repeated with a lastUpdated and versionId 2: the
        // file's rule (a lastUpdated first) picks the later copy, where fhir_etl.supersedes
        // would keep the first.
        patient('r3', 'R3-v3', { versionId: '3' }),
        // Same content twice: the last line wins, nothing changes.
        patient('r4', 'R4'),
        ...filler,
        patient('r1', 'R1-new', { lastUpdated: '2024-06-01T00:00:00Z' }),
        patient('r2', 'R2-undated'),
        patient('r3', 'R3-v2', { lastUpdated: '2024-01-01T00:00:00Z', versionId: '2' }),
        patient('r4', 'R4'),
        patient('r5', 'R5'),
      ],
      { batchBytes: 2048 },
    );
    t.is(paths.direct, 104);
    t.is(paths.staged, 5);
    t.is(paths.demoted, 0);
    // One row per id: a replaced direct copy is not counted as an update.
    t.deepEqual(result.counts, { Patient: { resources: 109, inserted: 105, updated: 0 } });
    const rows = await stored();
    t.is(rows.size, 105);
    t.is(rows.get('r1'), 'R1-new');
    t.is(rows.get('r2'), 'R2-dated');
    t.is(rows.get('r3'), 'R3-v2');
    t.is(rows.get('r4'), 'R4');
    await assertViewMatchesRaw(t);
  },
);

test.serial(
  'two files of the same type loading at once: one goes direct, both commit, newest wins',
  async (t) => {
    await warehouse.db.query(sql`TRUNCATE fhir_raw.patient, fhir.patient_family`);
    // Both start on an empty table; they share ids s100..s399, in opposite orders.
    const older = Array.from({ length: 400 }, (_, i) =>
      patient(`s${i}`, `Old${i}`, { lastUpdated: '2024-01-01T00:00:00Z' }),
    );
    const newer = Array.from({ length: 400 }, (_, i) =>
      patient(`s${399 - i + 100}`, `New${399 - i + 100}`, { lastUpdated: '2024-02-01T00:00:00Z' }),
    );
    const [a, b] = await Promise.all([load(older, { batchBytes: 4096 }), load(newer, { batchBytes: 4096 })]);
    t.is(a.result.status, 'loaded');
    t.is(b.result.status, 'loaded');
    // Only one file at a time may copy a type directly; the other stages and merges after it.
    t.true(a.paths.direct === 0 || b.paths.direct === 0);
    const rows = await stored();
    t.is(rows.size, 500);
    for (let i = 0; i < 500; i++) t.is(rows.get(`s${i}`), i < 100 ? `Old${i}` : `New${i}`);
    const inserted = (a.result.counts.Patient?.inserted ?? 0) + (b.result.counts.Patient?.inserted ?? 0);
    t.is(inserted, 500);
    await assertViewMatchesRaw(t);
  },
);

/**
 * 200 new Patients `<prefix>0..199` (family `Slow<i>`), held after the first until `release`:
 * the file has chosen its path by then, and the test can act before the rest arrives.
 */
function gatedPatients(prefix: string): { records: AsyncGenerator<ResourceRecord>; release: () => void } {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  async function* records(): AsyncGenerator<ResourceRecord> {
    for (let i = 0; i < 200; i++) {
      if (i === 1) await gate;
      yield parseResourceLine(
        JSON.stringify(patient(`${prefix}${i}`, `Slow${i}`, { lastUpdated: '2024-01-01T00:00:00Z' })),
        i + 1,
      ) as ResourceRecord;
    }
  }
  return { records: records(), release: () => release() };
}

test.serial('a direct copy refused because an id was taken meanwhile falls back to the merge', async (t) => {
  await warehouse.db.query(sql`TRUNCATE fhir_raw.patient, fhir.patient_family`);
  // The table is empty when the file starts, so it goes direct; then a writer outside the
  // loader's locks (a hand-made row here) takes ids the file holds.
  const { records, release } = gatedPatients('c');
  const paths: Paths = { direct: 0, staged: 0, landed: 0, demoted: 0 };
  const slow = loadFile(warehouse.db, { source: 's', fileKey: 'slow', path: 'slow', runId }, records, {
    rawTables: ctx.rawTables,
    targets: ctx.targets().map((target) => spy(target, paths)),
    batchBytes: 2048,
    directBatchBytes: 2048,
  });
  await directLockTaken();
  await warehouse.db.query(sql`
    INSERT INTO fhir_raw.patient (source, id, last_updated, resource, run_id)
    SELECT 's', 'c' || i, '2024-03-01T00:00:00Z',
           jsonb_build_object('resourceType', 'Patient', 'id', 'c' || i, 'name', jsonb_build_array(jsonb_build_object('family', 'Fast' || i))),
           ${runId}
    FROM generate_series(100, 149) i`);
  await warehouse.db.query(sql`
    INSERT INTO fhir.patient_family (_source, _resource_id, _run_id, id, family)
    SELECT 's', 'c' || i, ${runId}, 'Patient/c' || i, 'Fast' || i FROM generate_series(100, 149) i`);
  release();
  const result = await slow;
  t.true(paths.demoted >= 1);
  t.true(paths.landed >= 1);
  t.deepEqual(result.counts, { Patient: { resources: 200, inserted: 150, updated: 0 } });
  const rows = await stored();
  t.is(rows.size, 200);
  t.is(rows.get('c120'), 'Fast120');
  t.is(rows.get('c20'), 'Slow20');
  await assertViewMatchesRaw(t);
});

/**
 * Waits until this database shows a granted exclusive advisory lock beside the file's own. No
 * deadline of its own: the test's timeout bounds the wait, whatever the machine's load.
 */
async function directLockTaken(): Promise<void> {
  await eventually(async () => {
    const [row] = await warehouse.db.query(sql`
      SELECT count(*)::int AS n FROM pg_locks
      WHERE locktype = 'advisory' AND mode = 'ExclusiveLock' AND granted
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
    // The file's own key lock, and the type's direct lock.
    return row.n >= 2;
  });
}

/** A function that resolves once `parties` callers have called it. */
function barrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return () => {
    if (++arrived === parties) open();
    return opened;
  };
}

test.serial(
  'a file whose only direct batch is refused still merges every row into fhir_raw and the views',
  async (t) => {
    await warehouse.db.query(sql`TRUNCATE fhir_raw.patient, fhir.patient_family`);
    // One batch (default sizes) of 200 new patients: every row is added direct, none staged,
    // until the batch is refused as a whole.
    const { records, release } = gatedPatients('d');
    const paths: Paths = { direct: 0, staged: 0, landed: 0, demoted: 0 };
    const slow = loadFile(
      warehouse.db,
      { source: 's', fileKey: 'one-batch', path: 'one-batch', runId },
      records,
      {
        rawTables: ctx.rawTables,
        targets: ctx.targets().map((target) => spy(target, paths)),
      },
    );
    // The file chose the direct path; now another writer takes two of its ids: d100 with a
    // newer copy (it stays), d150 with an older one (the file's copy replaces it, view rows too).
    await directLockTaken();
    await warehouse.db.query(sql`
      INSERT INTO fhir_raw.patient (source, id, last_updated, resource, run_id) VALUES
        ('s', 'd100', '2024-03-01T00:00:00Z', '{"resourceType":"Patient","id":"d100","name":[{"family":"Fast100"}]}', ${runId}),
        ('s', 'd150', '2023-01-01T00:00:00Z', '{"resourceType":"Patient","id":"d150","name":[{"family":"Old150"}]}', ${runId})`);
    await warehouse.db.query(sql`
      INSERT INTO fhir.patient_family (_source, _resource_id, _run_id, id, family) VALUES
        ('s', 'd100', ${runId}, 'Patient/d100', 'Fast100'), ('s', 'd150', ${runId}, 'Patient/d150', 'Old150')`);
    release();
    const result = await slow;
    t.deepEqual(paths, { direct: 200, staged: 0, landed: 0, demoted: 1 });
    t.is(result.status, 'loaded');
    t.deepEqual(result.counts, { Patient: { resources: 200, inserted: 198, updated: 1 } });
    // 198 inserted + d150's one row; d100 unchanged.
    t.deepEqual(result.viewCounts, { patient_family: 199 });
    const rows = await stored();
    t.is(rows.size, 200);
    t.is(rows.get('d0'), 'Slow0');
    t.is(rows.get('d100'), 'Fast100');
    t.is(rows.get('d150'), 'Slow150');
    t.is(rows.get('d199'), 'Slow199');
    await assertViewMatchesRaw(t);
    const [file] = await warehouse.db.query(
      sql`SELECT resources, counts FROM fhir_etl.files WHERE source = 's' AND file_key = 'one-batch'`,
    );
    t.deepEqual(file, { resources: 200, counts: { Patient: { resources: 200, inserted: 198, updated: 1 } } });
  },
);

test.serial(
  'two multi-type files taking their types in opposite orders both commit (no deadlock)',
  async (t) => {
    await warehouse.db.query(sql`TRUNCATE fhir_raw.patient, fhir.patient_family`);
    await ctx.rawTables.ensure('Encounter');
    await warehouse.db.query(sql`TRUNCATE fhir_raw.encounter`);
    // A: Patients then Encounters; B: Encounters then Patients. Each copies its first type
    // directly (holding that type's lock) and reaches its second type while the other still
    // holds it: a file must not wait for that lock.
    const pathsA: Paths = { direct: 0, staged: 0, landed: 0, demoted: 0 };
    const pathsB: Paths = { direct: 0, staged: 0, landed: 0, demoted: 0 };
    // Neither file reads its second type before both have met their first: the loader asks
    // for a record once it handled the one before, so each has taken its first type's lock.
    const bothStarted = barrier(2);
    async function* records(first: string, second: string, tag: string): AsyncGenerator<ResourceRecord> {
      let line = 0;
      const resource = (resourceType: string, id: string) =>
        parseResourceLine(
          JSON.stringify({ resourceType, id, name: [{ family: id }] }),
          ++line,
        ) as ResourceRecord;
      for (let i = 0; i < 20; i++) yield resource(first, `${tag}${i}`);
      await bothStarted();
      for (let i = 0; i < 20; i++) yield resource(second, `${tag}x${i}`);
    }
    const load2 = (name: string, first: string, second: string, paths: Paths) =>
      loadFile(
        warehouse.db,
        { source: 's', fileKey: name, path: name, runId },
        records(first, second, name),
        {
          rawTables: ctx.rawTables,
          targets: ctx.targets().map((target) => spy(target, paths)),
        },
      );
    const [a, b] = await Promise.allSettled([
      load2('oppA', 'Patient', 'Encounter', pathsA),
      load2('oppB', 'Encounter', 'Patient', pathsB),
    ]);
    if (a.status === 'rejected') throw a.reason;
    if (b.status === 'rejected') throw b.reason;
    const twenty = { resources: 20, inserted: 20, updated: 0 };
    t.deepEqual(a.value.counts, { Patient: twenty, Encounter: twenty });
    t.deepEqual(b.value.counts, { Encounter: twenty, Patient: twenty });
    // Each went direct with its first type only (so each held its first type's lock).
    t.deepEqual(pathsA, { direct: 20, staged: 20, landed: 1, demoted: 0 });
    t.deepEqual(pathsB, { direct: 20, staged: 20, landed: 1, demoted: 0 });
    const [counts] = await warehouse.db.query(sql`
      SELECT (SELECT count(*)::int FROM fhir_raw.patient WHERE source = 's') AS patients,
             (SELECT count(*)::int FROM fhir_raw.encounter WHERE source = 's') AS encounters`);
    t.deepEqual(counts, { patients: 40, encounters: 40 });
    await assertViewMatchesRaw(t);
  },
);
