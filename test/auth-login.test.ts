import { sql } from '@databases/pg';
import test from 'ava';
import { listMembers } from '../pipeline/members/members.ts';
import { rows, useTestWarehouse } from './helpers/warehouse.ts';
import { loginAs, loginThroughPicker, usePayer } from './helpers/payer.ts';

const warehouse = useTestWarehouse(test);
const payer = usePayer(test);

test.serial('two members log in through the loopback callback and are stored one row each', async (t) => {
  const first = await loginAs(warehouse.db, payer, '01-testmemid');
  const second = await loginAs(warehouse.db, payer, '02-testmemid');
  const expected = payer.sandbox.members.slice(0, 2).map((m) => m.patientId);
  t.deepEqual([first.patientId, second.patientId], expected);
  t.true(first.hasRefreshToken);
  const members = await listMembers(warehouse.db, 'payer');
  t.deepEqual(
    members.map((m) => [m.patientId, m.memberId, m.needsLogin, m.hasRefreshToken]),
    [
      [expected[0], '01-testmemid', false, true],
      [expected[1], '02-testmemid', false, true],
    ],
  );
  t.truthy(members[0]?.accessExpiresAt);
});

test.serial('the authorize URL carries PKCE S256, state, aud and login_hint', async (t) => {
  const before = payer.sandbox.requests.length;
  await loginAs(warehouse.db, payer, '03-testmemid');
  const authorize = payer.sandbox.requests
    .slice(before)
    .map((r) => new URL(r.url))
    .find((u) => u.pathname.endsWith('/authorize'));
  t.truthy(authorize);
  const params = authorize!.searchParams;
  t.is(params.get('code_challenge_method'), 'S256');
  t.regex(params.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
  t.true((params.get('state') ?? '').length >= 22, 'at least 122 bits of state');
  t.is(params.get('aud'), payer.source.baseUrl);
  t.is(params.get('login_hint'), '03-testmemid');
  t.true(params.get('scope')?.includes('offline_access'));
});

test.serial('a login again renews the same member instead of adding one', async (t) => {
  const again = await loginAs(warehouse.db, payer, '01-testmemid');
  const rowsFor = await rows(
    warehouse.db,
    sql`SELECT count(*)::int AS n FROM fhir_etl.members WHERE source = 'payer' AND patient_id = ${again.patientId}`,
  );
  t.is(rowsFor[0]?.n, 1);
});

test.serial(
  "a member who picks themselves on the server's page (no login hint) is recorded by member id",
  async (t) => {
    const login = await loginThroughPicker(warehouse.db, payer, '04-testmemid');
    const patientId = payer.sandbox.members[3]!.patientId;
    t.is(login.patientId, patientId);
    t.is(login.memberId, '04-testmemid', 'read from the Patient the token names');
    const member = (await listMembers(warehouse.db, 'payer')).find((m) => m.patientId === patientId);
    t.is(member?.memberId, '04-testmemid');
  },
);
