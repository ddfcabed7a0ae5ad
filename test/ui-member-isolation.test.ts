import { sql } from '@databases/pg';
import test from 'ava';
import {
  cookiesOf,
  createReaderRole,
  csrfTokenOf,
  loadInterleavedMembers,
  type ReaderRole,
} from './helpers/console.ts';
import { startTestConsole } from './helpers/console.ts';
import { createTestWarehouse, type TestWarehouse } from './helpers/warehouse.ts';
import type { RunningConsole } from '../ui/index.ts';

/**
 * Another member's data never appears on a member's page: the sandbox's four test members, whose
 * resources are interleaved line by line in the same files, each page checked against the others' ids.
 */

let warehouse: TestWarehouse;
let reader: ReaderRole;
let ui: RunningConsole;
let members: Awaited<ReturnType<typeof loadInterleavedMembers>>;

test.before(async () => {
  warehouse = await createTestWarehouse();
  members = await loadInterleavedMembers(warehouse, { patients: 4, source: 'interleaved' });
  reader = await createReaderRole(warehouse);
  ui = await startTestConsole(reader);
});
test.after.always(async () => {
  await ui?.close();
  await reader?.drop();
  await warehouse?.drop();
});

/** The member's page link, found as a user finds it: a POST search by member id. */
async function memberLink(memberId: string): Promise<string> {
  const form = await fetch(`${ui.url}members`);
  const found = await fetch(`${ui.url}members/search`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookiesOf(form) },
    body: new URLSearchParams({ _csrf: csrfTokenOf(await form.text()), q: memberId }),
  });
  const links = [...(await found.text()).matchAll(/href="\/(members\/[^"]+)"/g)];
  if (links.length !== 1) throw new Error(`expected one match for ${memberId}, got ${links.length}`);
  return `${ui.url}${links[0]![1]}`;
}

const attributeValues = (page: string, attribute: string) =>
  [...page.matchAll(new RegExp(`${attribute}="([^"]+)"`, 'g'))].map((m) => m[1]!);

test('one file per resource type holds every member (the case this test is about)', async (t) => {
  const [encounters] = await warehouse.db.query(sql`
    SELECT count(DISTINCT f.file_key)::int AS files,
           (SELECT count(DISTINCT patient_id)::int FROM fhir.encounter
            WHERE _source = 'interleaved') AS members
    FROM fhir_etl.files f WHERE f.source = 'interleaved' AND f.counts ? 'Encounter'`);
  t.deepEqual(encounters, { files: 1, members: members.length });
});

for (const index of [0, 1, 2, 3]) {
  test(`member ${index + 1}'s rendered and raw pages show only their own resources`, async (t) => {
    const me = members[index]!;
    const others = members.filter((m) => m !== me);
    const link = await memberLink(me.memberId);
    const rendered = await (await fetch(link)).text();
    const raw = await (await fetch(`${link}/raw`)).text();

    // Every encounter on the timeline and every claim row is the member's own.
    const encounters = attributeValues(rendered, 'data-encounter-id');
    t.deepEqual([...encounters].sort(), [...(me.ids.get('Encounter') ?? [])].sort());
    for (const claim of attributeValues(rendered, 'data-claim-id')) {
      t.true(me.ids.get('ExplanationOfBenefit')?.has(claim), `claim ${claim} is the member's`);
    }
    // Every stored resource shown raw is the member's own, and the Patient is theirs.
    const shown = attributeValues(raw, 'data-resource-id');
    t.true(shown.length > 10);
    const mine = new Set([...me.ids.values()].flatMap((ids) => [...ids]));
    for (const id of shown) t.true(mine.has(id), `${id} belongs to ${me.memberId}`);
    t.true(shown.includes(me.patientId));
    // Nothing that names another member: their member ids or Patient references.
    for (const other of others) {
      for (const page of [rendered, raw]) {
        t.false(page.includes(other.memberId), `${other.memberId} appears`);
        t.false(page.includes(`Patient/${other.patientId}"`), `Patient/${other.patientId} appears`);
      }
    }
  });
}
