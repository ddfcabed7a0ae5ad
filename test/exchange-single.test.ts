import { sql } from '@databases/pg';
import test from 'ava';
import { type Sandbox, startSandbox } from '../sandbox/index.ts';
import {
  backendServicesClient,
  clockAt,
  exchangeMembers,
  exchangeSource,
  exportKickOffs,
  memberRow,
  rawIds,
  runExchange,
  writeMembersCsv,
} from './helpers/exchange.ts';
import { memberBundleViolations } from './helpers/profile-check.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

/**
 * Single-member Payer-to-Payer, for prior payers without the bulk operation: `$member-match`
 * per member (a match, or a 422 saying why not), then the matched member's data with a token
 * scoped to them: Patient/$export when the server offers it, else searches.
 */

const warehouse = useTestWarehouse(test);
const clock = clockAt('2026-06-01T08:00:00Z');
let sandbox: Sandbox;
let keys: Awaited<ReturnType<typeof backendServicesClient>>;
let members: { file: string };

const MATCHED = 1;
const WRONG_MEMBER_ID = 2;
const EXPIRED_CONSENT = 4;
const NON_SENSITIVE = 6;

test.before(async () => {
  keys = await backendServicesClient();
  sandbox = await startSandbox({ patients: 8, retryAfterSeconds: 0, now: clock.now, clients: [keys.client] });
  members = {
    file: await writeMembersCsv([
      memberRow(sandbox, MATCHED),
      memberRow(sandbox, WRONG_MEMBER_ID, { old_member_id: 'MB00000777' }),
      memberRow(sandbox, EXPIRED_CONSENT, { consent_start: '2025-01-01', consent_end: '2025-12-31' }),
      memberRow(sandbox, NON_SENSITIVE, { consent_policy: 'non-sensitive' }),
    ]),
  };
});
test.after.always(() => sandbox?.close());

const memberId = (index: number) => `NEW-${String(index).padStart(4, '0')}`;
const single = (name: string, pull: 'auto' | 'search') =>
  exchangeSource(sandbox, members, keys, { name, mode: 'single', single: { pull } });

test.serial(
  'a match, two 422s (no such member; a consent that ended), and a member-scoped Patient/$export',
  async (t) => {
    const run = await runExchange(warehouse.db, single('single-export', 'auto'), clock);

    t.is(run.status, 'succeeded', run.error);
    const rows = await exchangeMembers(warehouse.db, 'single-export');
    const row = (i: number) => rows.find((m) => m.member_id === memberId(i));
    t.like(row(MATCHED), {
      outcome: 'matched',
      old_patient_id: sandbox.members[MATCHED]?.patientId,
      old_member_id: sandbox.members[MATCHED]?.memberId,
    });
    t.like(row(WRONG_MEMBER_ID), { outcome: 'not-matched', old_patient_id: null });
    t.regex(row(WRONG_MEMBER_ID)?.reason, /member id and the demographics do not name the same member/);
    t.like(row(EXPIRED_CONSENT), { outcome: 'consent-constrained' });
    t.regex(row(EXPIRED_CONSENT)?.reason, /consent period ended on 2025-12-31/);
    t.like(row(NON_SENSITIVE), { outcome: 'matched', consent_policy: 'non-sensitive' });
    const refused = sandbox.requests.filter(
      (r) => r.url.endsWith('/Patient/$member-match') && r.status === 422,
    );
    t.is(refused.length, 2);

    // One Patient/$export per matched member; the route takes member-scoped tokens only.
    const exports = sandbox.requests.filter((r) => r.method === 'POST' && r.url.endsWith('/Patient/$export'));
    t.deepEqual(
      exports.map((r) => r.status),
      [202, 202],
    );
    const kickOffs = await exportKickOffs(warehouse.db, 'single-export');
    t.deepEqual(
      kickOffs.map((k) => k.values('patient')),
      [MATCHED, NON_SENSITIVE].map((i) => [`Patient/${sandbox.members[i]?.patientId}`]),
    );
    const loaded = await rawIds(warehouse.db, 'single-export');
    t.deepEqual(
      [...(loaded.get('Patient') ?? [])].sort(),
      [MATCHED, NON_SENSITIVE].map((i) => sandbox.members[i]?.patientId),
    );
    t.false(
      loaded.get('Condition')?.has(`bh-${String(NON_SENSITIVE).padStart(6, '0')}-1`),
      'sensitive data withheld',
    );
    for (const request of sandbox.pdex.matchRequests) {
      const parts = (request as { parameter: unknown[] }).parameter;
      t.deepEqual(memberBundleViolations({ name: 'MemberBundle', part: parts }), []);
    }
  },
);

test.serial('the next run does not match again and pulls each member since their last export', async (t) => {
  const matchesBefore = sandbox.pdex.matchRequests.length;
  const [watermark] = await warehouse.db.query(sql`
    SELECT watermark FROM fhir_etl.exchange_members WHERE source = 'single-export' AND member_id = ${memberId(MATCHED)}`);
  sandbox.advance();

  const run = await runExchange(warehouse.db, single('single-export', 'auto'), clock);

  t.is(run.status, 'succeeded', run.error);
  t.is(sandbox.pdex.matchRequests.length, matchesBefore, 'no new $member-match');
  const kickOffs = await exportKickOffs(warehouse.db, 'single-export');
  t.is(kickOffs.length, 4);
  t.deepEqual(kickOffs[2]?.values('_since'), [watermark.watermark]);
  t.deepEqual(kickOffs[2]?.values('_typeFilter'), []);
});

test.serial(
  'without Patient/$export on offer, a matched member is read by searches with their token',
  async (t) => {
    sandbox.pdex.settings.patientExport = false;
    t.teardown(() => {
      sandbox.pdex.settings.patientExport = true;
    });

    const run = await runExchange(warehouse.db, single('single-search', 'auto'), clock);

    t.is(run.status, 'succeeded', run.error);
    const searches = sandbox.requests.filter(
      (r) => r.method === 'GET' && r.url.includes('/p2p/r4/') && /patient=|_id=/.test(r.url),
    );
    t.true(searches.length >= 20, 'one search per type per member');
    t.true(searches.every((r) => r.status === 200));
    const loaded = await rawIds(warehouse.db, 'single-search');
    const expected = new Map<string, Set<string>>();
    for (const [index, policy] of [
      [MATCHED, 'all'],
      [NON_SENSITIVE, 'non-sensitive'],
    ] as const) {
      for (const r of sandbox.pdex.recordOf(index, policy)) {
        if (!expected.has(r.resourceType)) expected.set(r.resourceType, new Set());
        expected.get(r.resourceType)?.add(r.id);
      }
    }
    for (const [type, ids] of expected)
      t.deepEqual([...(loaded.get(type) ?? [])].sort(), [...ids].sort(), type);
  },
);

test.serial(
  'a matched member whose consent ended is no longer pulled, not matched again, and recorded as stopped',
  async (t) => {
    const ends = exchangeSource(
      sandbox,
      { file: await writeMembersCsv([memberRow(sandbox, MATCHED, { consent_end: '2026-06-10' })]) },
      keys,
      { name: 'single-ends', mode: 'single', single: { pull: 'export' } },
    );
    const first = await runExchange(warehouse.db, ends, clock);
    t.is(first.status, 'succeeded', first.error);
    t.is((await exportKickOffs(warehouse.db, 'single-ends')).length, 1);
    clock.set('2026-06-15T08:00:00Z');
    const matchesBefore = sandbox.pdex.matchRequests.length;

    const run = await runExchange(warehouse.db, ends, clock);

    t.is(run.status, 'succeeded', run.error);
    t.is((await exportKickOffs(warehouse.db, 'single-ends')).length, 1, 'no pull after the consent ended');
    t.is(sandbox.pdex.matchRequests.length, matchesBefore, 'no new $member-match');
    const [row] = await exchangeMembers(warehouse.db, 'single-ends');
    t.like(row, { outcome: 'matched', pulls_stopped: 'consent ended 2026-06-10' });
  },
);
