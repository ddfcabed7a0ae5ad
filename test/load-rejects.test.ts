import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { sql } from '@databases/pg';
import test from 'ava';
import { loadPaths } from '../pipeline/load.ts';
import { createTestWarehouse, type TestWarehouse } from './helpers/warehouse.ts';

let warehouse: TestWarehouse;
const dir = mkdtempSync(join(tmpdir(), 'fhir-etl-rejects-'));
test.before(async () => {
  warehouse = await createTestWarehouse();
});
test.after.always(async () => {
  await warehouse?.drop();
});

const good = (id: string) => JSON.stringify({ resourceType: 'Observation', id, status: 'final' });

test('each kind of bad line is rejected with its line number and reason, and the good lines load', async (t) => {
  const lines = [
    good('o1'),
    'this is not json',
    '[1, 2, 3]',
    JSON.stringify({ id: 'no-type' }),
    JSON.stringify({ resourceType: 'Observation' }),
    JSON.stringify({ resourceType: 'NotAResource', id: 'x' }),
    JSON.stringify({ resourceType: 'Observation', id: 'bad id with spaces' }),
    JSON.stringify({ resourceType: 'Observation', id: 'o-meta', meta: { lastUpdated: 'yesterday' } }),
    '{"resourceType":"Observation","id":"o-nul","note":[{"text":"a\\u0000b"}]}',
    JSON.stringify({ resourceType: 'Observation', id: 'o-long', note: [{ text: 'x'.repeat(5000) }] }),
    '',
    good('o2'),
  ];
  const path = join(dir, 'mixed.ndjson');
  writeFileSync(path, `${lines.join('\r\n')}\r\n`);
  const summary = await loadPaths(warehouse.db, {
    paths: [path],
    source: 'r',
    concurrency: 1,
    maxLineBytes: 4096,
  });
  t.is(summary.status, 'succeeded');
  t.is(summary.resources, 2);
  t.is(summary.rejects, 9);
  const rejects = await warehouse.db.query(
    sql`SELECT line, reason, raw, resource_type, file FROM fhir_etl.rejects WHERE run_id = ${summary.runId} ORDER BY line`,
  );
  t.deepEqual(
    rejects.map((r: { line: number }) => r.line),
    [2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  const reasons: string[] = rejects.map((r: { reason: string }) => r.reason);
  t.regex(reasons[0] ?? '', /not valid JSON/);
  t.regex(reasons[1] ?? '', /not a JSON object/);
  t.regex(reasons[2] ?? '', /missing resourceType/);
  t.regex(reasons[3] ?? '', /missing id/);
  t.regex(reasons[4] ?? '', /unknown resource type "NotAResource"/);
  t.regex(reasons[5] ?? '', /not a valid FHIR id/);
  t.regex(reasons[6] ?? '', /meta.lastUpdated "yesterday" is not a FHIR instant/);
  t.regex(reasons[7] ?? '', /\\u0000/);
  t.regex(reasons[8] ?? '', /exceeds the limit of 4096 bytes/);
  t.is(rejects[0].raw, 'this is not json');
  t.true(rejects[8].raw.startsWith('{"resourceType":"Observation","id":"o-long"'));
  t.true(rejects[8].raw.length <= 1024);
  t.is(rejects[0].file, path);
  const loaded = await warehouse.db.query(
    sql`SELECT id FROM fhir_raw.observation WHERE source = 'r' ORDER BY id`,
  );
  t.deepEqual(
    loaded.map((r: { id: string }) => r.id),
    ['o1', 'o2'],
  );
});

test('a corrupt gzip file fails alone: nothing of it is written, the other files load', async (t) => {
  const whole = gzipSync(`${good('g1')}\n${good('g2')}\n`);
  const truncated = join(dir, 'truncated.ndjson.gz');
  writeFileSync(truncated, whole.subarray(0, whole.length - 12));
  const fine = join(dir, 'fine.ndjson.gz');
  writeFileSync(fine, gzipSync(`${good('g3')}\n`));
  const summary = await loadPaths(warehouse.db, {
    paths: [truncated, fine],
    source: 'gz',
    concurrency: 1,
    maxLineBytes: 4096,
  });
  t.is(summary.status, 'failed');
  const failure = summary.outcomes.find((o) => o.path === truncated);
  t.regex(failure?.error ?? '', /corrupt or truncated gzip/);
  const loaded = await warehouse.db.query(
    sql`SELECT id FROM fhir_raw.observation WHERE source = 'gz' ORDER BY id`,
  );
  t.deepEqual(
    loaded.map((r: { id: string }) => r.id),
    ['g3'],
  );
  const files = await warehouse.db.query(sql`SELECT path FROM fhir_etl.files WHERE source = 'gz'`);
  t.deepEqual(
    files.map((f: { path: string }) => f.path),
    [fine],
  );
  const [run] = await warehouse.db.query(
    sql`SELECT status, error FROM fhir_etl.runs WHERE id = ${summary.runId}`,
  );
  t.is(run.status, 'failed');
  t.regex(run.error, /truncated\.ndjson\.gz/);
});
