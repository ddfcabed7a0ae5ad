import { sql } from '@databases/pg';
import test from 'ava';
import { type BulkServer, ndjson, runBulk } from './helpers/bulk-server.ts';
import { bulkSource, kickOffAccepted, scriptedServer } from './helpers/bulk-run.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

/**
 * Issue 13, defect 3: a resource listed both in an output file and in the `deleted` file of
 * the same export ends the same whatever order the manifest lists the files in and however
 * many load at once. The rule (docs/configuration.md): within one export, the output copy
 * stays only when its meta.lastUpdated is later than the deletion (the entry's date, else the
 * transactionTime); a copy without lastUpdated loses to the deletion.
 */

const warehouse = useTestWarehouse(test, { noDeadlocks: true });

const FIRST = '2026-02-01T00:00:00.000Z';
const SECOND = '2026-02-02T10:00:00.000Z';

const outputA = [
  // Updated, then deleted before the export: the deletion (dated by the transactionTime) is later.
  { resourceType: 'Patient', id: 'p1', meta: { lastUpdated: '2026-02-01T09:00:00Z' }, gender: 'male' },
  // Deleted at 2026-02-01T06:00 (the entry says), then created again at 12:00: the copy is later.
  { resourceType: 'Patient', id: 'p3', meta: { lastUpdated: '2026-02-01T12:00:00Z' }, gender: 'other' },
];
// No meta.lastUpdated: it cannot be ordered against the deletion, which wins.
const outputB = [{ resourceType: 'Patient', id: 'p2', gender: 'female' }];
const deleted = {
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [
    { request: { method: 'DELETE', url: 'Patient/p1' } },
    { request: { method: 'DELETE', url: 'Patient/p2' } },
    {
      request: { method: 'DELETE', url: 'Patient/p3' },
      response: { status: '200', lastModified: '2026-02-01T06:00:00Z' },
    },
  ],
};

const lines = (resources: object[]) => resources.map((r) => `${JSON.stringify(r)}\n`).join('');

type File = { kind: 'output' | 'deleted'; url: string };

function routeCase(s: BulkServer, order: string[]) {
  s.route('GET', '/fhir/$export', kickOffAccepted(s, 'full'), kickOffAccepted(s, 'delta'));
  s.route('GET', '/status/full', {
    status: 200,
    json: {
      transactionTime: FIRST,
      requiresAccessToken: false,
      output: [{ type: 'Patient', url: `${s.url}/files/full.ndjson` }],
      error: [],
    },
  });
  s.route('GET', '/files/full.ndjson', {
    status: 200,
    body: ndjson('Patient', 4, 'p', '2026-01-01T00:00:00Z'),
  });
  const files: Record<string, File> = {
    A: { kind: 'output', url: `${s.url}/files/a.ndjson` },
    B: { kind: 'output', url: `${s.url}/files/b.ndjson` },
    D: { kind: 'deleted', url: `${s.url}/files/deleted.ndjson` },
  };
  const listed = order.map((name) => files[name] as File);
  s.route('GET', '/status/delta', {
    status: 200,
    json: {
      transactionTime: SECOND,
      requiresAccessToken: false,
      output: listed.filter((f) => f.kind === 'output').map((f) => ({ type: 'Patient', url: f.url })),
      deleted: listed.filter((f) => f.kind === 'deleted').map((f) => ({ type: 'Bundle', url: f.url })),
      error: [],
    },
  });
  s.route('GET', '/files/a.ndjson', { status: 200, body: lines(outputA) });
  s.route('GET', '/files/b.ndjson', { status: 200, body: lines(outputB) });
  s.route('GET', '/files/deleted.ndjson', { status: 200, body: `${JSON.stringify(deleted)}\n` });
  s.route('DELETE', '/status/full', { status: 202 });
  s.route('DELETE', '/status/delta', { status: 202 });
}

async function finalRows(source: string) {
  const raw: Array<{ id: string; deleted: boolean; gender: string }> = await warehouse.db.query(sql`
    SELECT id, deleted, resource->>'gender' AS gender FROM fhir_raw.patient WHERE source = ${source} ORDER BY id`);
  const view: Array<{ _resource_id: string }> = await warehouse.db.query(
    sql`SELECT _resource_id FROM fhir.patient WHERE _source = ${source} ORDER BY 1`,
  );
  return { raw, view: view.map((row) => row._resource_id) };
}

const ORDERS = [
  ['A', 'B', 'D'],
  ['A', 'D', 'B'],
  ['B', 'A', 'D'],
  ['B', 'D', 'A'],
  ['D', 'A', 'B'],
  ['D', 'B', 'A'],
];

const EXPECTED = {
  raw: [
    { id: 'p1', deleted: true, gender: 'male' },
    { id: 'p2', deleted: true, gender: 'female' },
    { id: 'p3', deleted: false, gender: 'other' },
    { id: 'p4', deleted: false, gender: 'male' },
  ],
  view: ['p3', 'p4'],
};

for (const concurrency of [1, 3]) {
  test(`a resource both deleted and exported lands the same in every file order (concurrency ${concurrency})`, async (t) => {
    for (const order of ORDERS) {
      const s = await scriptedServer(t);
      routeCase(s, order);
      const source = `conflict-${concurrency}-${order.join('')}`;
      const src = bulkSource(s, source, { concurrency });
      t.is((await runBulk(warehouse.db, src)).status, 'succeeded');

      const delta = await runBulk(warehouse.db, src);

      t.is(delta.status, 'succeeded', delta.error);
      t.deepEqual(await finalRows(source), EXPECTED, `files listed ${order.join(', ')}`);
    }
  });
}
