import { sql } from '@databases/pg';
import test from 'ava';
import { configSchema } from '../config/index.ts';
import { submittedPatientId } from '../connectors/member-match/index.ts';
import { readStatus } from '../pipeline/status.ts';
import { type Sandbox, startSandbox } from '../sandbox/index.ts';
import {
  backendServicesClient,
  type Clock,
  clockAt,
  exchangeMembers,
  exchangeSource,
  exportKickOffs,
  type MemberColumns,
  memberRow,
  rawIds,
  runExchange,
  writeMembersCsv,
} from './helpers/exchange.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

/**
 * A member list matched in batches (match.batchSize 3 here): each `$bulk-member-match` batch is
 * recorded as it completes, a run stopped between batches sends only the members not answered,
 * and every member is pulled from their own watermark: a member newly matched (in a batch of
 * their own, or into a later round's Group beside members pulled before) gets the 5-year
 * lookback, the others only what changed since their last pull. The tests run in order on one
 * sandbox and one warehouse, on the shared clock.
 */

const warehouse = useTestWarehouse(test);

/** Sandbox member indexes in the order of the member list; 9's consent starts after the first match. */
const FIRST_LIST = [0, 9, 1, 2, 3, 4, 5, 6];
const LATE_CONSENT = 9;
const ADDED = [7, 8];

let sandbox: Sandbox;
let clock: Clock;
let keys: Awaited<ReturnType<typeof backendServicesClient>>;

test.before(async () => {
  clock = clockAt('2026-06-01T08:00:00Z');
  keys = await backendServicesClient();
  sandbox = await startSandbox({
    patients: 12,
    retryAfterSeconds: 0,
    now: clock.now,
    clients: [keys.client],
  });
});
test.after.always(() => sandbox?.close());

const memberId = (index: number) => `NEW-${String(index).padStart(4, '0')}`;
const rowOf = (index: number): MemberColumns =>
  memberRow(sandbox, index, index === LATE_CONSENT ? { consent_start: '2026-06-15' } : {});

async function sourceFor(indexes: number[]): Promise<Record<string, unknown>> {
  return exchangeSource(sandbox, { file: await writeMembersCsv(indexes.map(rowOf)) }, keys, {
    match: { maxPollIntervalSeconds: 0.05, batchSize: 3 },
  });
}

/** The members (sandbox indexes) each match request carried, in order. */
function sentPerRequest(from = 0): number[][] {
  const byPatientId = new Map(
    Array.from({ length: 12 }, (_, i) => [submittedPatientId('prior-payer', memberId(i)), i]),
  );
  return (sandbox.pdex.matchRequests.slice(from) as Array<{ parameter: Array<{ part: unknown[] }> }>).map(
    (request) =>
      request.parameter.map((bundle) => {
        const patient = (bundle.part as Array<{ name: string; resource?: { id: string } }>).find(
          (p) => p.name === 'MemberPatient',
        );
        return byPatientId.get(patient?.resource?.id ?? '') as number;
      }),
  );
}

async function batches() {
  return warehouse.db.query(sql`
    SELECT id, round, batch, state, submitted, matched, not_matched, consent_constrained
    FROM fhir_etl.exchange_matches ORDER BY id`);
}

/** Date of service per type, read independently of the server's search code. */
const DATE_OF_SERVICE: Record<string, (r: Record<string, unknown>) => unknown> = {
  Encounter: (r) => (r.period as { start?: string } | undefined)?.start,
  Condition: (r) => r.onsetDateTime,
  Observation: (r) => r.effectiveDateTime,
  Procedure: (r) => (r.performedPeriod as { start?: string } | undefined)?.start,
  MedicationRequest: (r) => r.authoredOn,
  Immunization: (r) => r.occurrenceDateTime,
  ExplanationOfBenefit: (r) => (r.billablePeriod as { start?: string } | undefined)?.start,
};

/** What a lookback from `from` loads of one member: their records dated on or after it, and those of undated types. */
function lookbackOf(index: number, from: string) {
  return sandbox.pdex.recordOf(index, 'all').filter((r) => {
    if (r.resourceType === 'ExplanationOfBenefit' && r.use === 'preauthorization') return true;
    const read = DATE_OF_SERVICE[r.resourceType];
    if (!read) return true;
    const value = read(r);
    return typeof value === 'string' && value.slice(0, 10) >= from;
  });
}

/** Each member's watermark (the `_since` of their next pull), by sandbox index. */
async function memberWatermarks(): Promise<Map<number, string>> {
  const rows: Array<{ member_id: string; watermark: string | null }> = await warehouse.db.query(
    sql`SELECT member_id, watermark FROM fhir_etl.exchange_members WHERE watermark IS NOT NULL`,
  );
  return new Map(rows.map((r) => [Number(r.member_id.slice(4)), r.watermark as string]));
}

/** A member's records changed after `since`. */
function changedSince(index: number, since: string) {
  return sandbox.pdex
    .recordOf(index, 'all')
    .filter((r) => Date.parse(r.meta.lastUpdated) > Date.parse(since));
}

/** Resources per type, as a run's counts give them. */
function countByType(resources: Array<{ resourceType: string }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of resources) counts[r.resourceType] = (counts[r.resourceType] ?? 0) + 1;
  return counts;
}

function assertLoaded(
  t: { true: (v: boolean, m?: string) => void },
  loaded: Map<string, Set<string>>,
  expected: Array<{ resourceType: string; id: string }>,
) {
  for (const r of expected)
    t.true(loaded.get(r.resourceType)?.has(r.id) ?? false, `${r.resourceType}/${r.id}`);
}

let source: Record<string, unknown>;

test.serial(
  'the members are sent in batches of match.batchSize; an outage after the first batch keeps its outcomes and pulls nothing',
  async (t) => {
    source = await sourceFor(FIRST_LIST);
    sandbox.pdex.settings.matchOutageAfter = 1;

    const run = await runExchange(warehouse.db, source, clock);

    t.is(run.status, 'failed');
    t.regex(run.error ?? '', /500/);
    t.deepEqual(sentPerRequest(), [[0, 9, 1]]);
    t.like(await batches(), [
      { batch: 1, state: 'completed', submitted: 3, matched: 2, not_matched: 0, consent_constrained: 1 },
    ]);
    const [first] = await batches();
    t.is(first.round, first.id, 'the first batch names its round');
    const members = await exchangeMembers(warehouse.db);
    t.deepEqual(
      members.map((m) => [m.member_id, m.outcome]),
      [
        [memberId(0), 'matched'],
        [memberId(1), 'matched'],
        [memberId(LATE_CONSENT), 'consent-constrained'],
      ],
    );
    t.deepEqual(await exportKickOffs(warehouse.db), [], 'nothing pulled before every batch is answered');
  },
);

test.serial(
  'the next run sends only the members no batch answered, then pulls each batch Group with the lookback',
  async (t) => {
    delete sandbox.pdex.settings.matchOutageAfter;

    const run = await runExchange(warehouse.db, source, clock);

    t.is(run.status, 'succeeded', run.error);
    t.deepEqual(
      sentPerRequest(1),
      [
        [2, 3, 4],
        [5, 6],
      ],
      'the answered members are not sent again',
    );
    const recorded = await batches();
    t.deepEqual(
      recorded.map((b) => [b.batch, b.state, b.submitted, b.matched]),
      [
        [1, 'completed', 3, 2],
        [2, 'completed', 3, 3],
        [3, 'completed', 2, 2],
      ],
    );
    t.true(
      recorded.every((b) => b.round === recorded[0]?.id),
      'one round',
    );
    const groups = sandbox.pdex.groups();
    t.is(groups.length, 3);
    const kickOffs = await exportKickOffs(warehouse.db);
    t.deepEqual(
      kickOffs.map((k) => k.url.replace(/.*\/Group\/([^/]+)\/.*/, '$1')),
      groups.map((g) => g.id),
    );
    for (const k of kickOffs) {
      t.deepEqual(k.values('_since'), []);
      t.true(k.values('_typeFilter').includes('Encounter?date=ge2021-06-01'));
      t.deepEqual(k.values('patient'), [], 'the whole Group');
    }
    const loaded = await rawIds(warehouse.db);
    const expected = [
      ...FIRST_LIST.filter((i) => i !== LATE_CONSENT).flatMap((i) => lookbackOf(i, '2021-06-01')),
    ];
    assertLoaded(t, loaded, expected);
    t.false(
      loaded.get('Patient')?.has(sandbox.members[LATE_CONSENT]?.patientId ?? ''),
      'not matched, not pulled',
    );
    const [patients] = await warehouse.db.query(
      sql`SELECT count(*)::int AS n FROM fhir_raw.patient WHERE source = 'prior-payer'`,
    );
    t.is(patients.n, 7);
  },
);

test.serial(
  'a member added to the list is matched in a batch of their own and gets the lookback; the others get only what changed since their pull',
  async (t) => {
    const watermarks = await warehouse.db.query(
      sql`SELECT group_id, watermark FROM fhir_etl.exchange_pulls WHERE state = 'completed' ORDER BY id`,
    );
    const ownWatermarks = await memberWatermarks();
    for (let step = 0; step < 3; step++) sandbox.advance();
    clock.set('2026-06-02T08:00:00Z');
    source = await sourceFor([...FIRST_LIST, ...ADDED]);
    const before = sandbox.pdex.matchRequests.length;

    const run = await runExchange(warehouse.db, source, clock);

    t.is(run.status, 'succeeded', run.error);
    t.deepEqual(sentPerRequest(before), [ADDED], 'only the added members, not a new match of everyone');
    const recorded = await batches();
    t.like(recorded.at(-1), { round: recorded[0]?.id, batch: 4, state: 'completed', matched: 2 });
    const groups = sandbox.pdex.groups();
    const kickOffs = (await exportKickOffs(warehouse.db)).slice(3);
    t.is(kickOffs.length, 4);
    for (const [index, w] of watermarks.entries()) {
      t.regex(kickOffs[index]?.url ?? '', new RegExp(`/Group/${w.group_id}/`));
      t.deepEqual(kickOffs[index]?.values('_since'), [w.watermark], "each Group from its members' own pull");
      t.deepEqual(kickOffs[index]?.values('_typeFilter'), []);
    }
    t.regex(kickOffs[3]?.url ?? '', new RegExp(`/Group/${groups[3]?.id}/`));
    t.deepEqual(kickOffs[3]?.values('_since'), [], 'the added members: no _since');
    t.true(kickOffs[3]?.values('_typeFilter').includes('Encounter?date=ge2021-06-02'));

    const since = Date.parse(watermarks[0]?.watermark);
    const changed = FIRST_LIST.filter((i) => i !== LATE_CONSENT).flatMap((i) =>
      changedSince(i, ownWatermarks.get(i) as string),
    );
    const added = ADDED.flatMap((i) => lookbackOf(i, '2021-06-02'));
    const olderThanSince = added.filter((r) => Date.parse(r.meta.lastUpdated) <= since);
    t.true(olderThanSince.length > 0, 'the added members have history a _since pull would miss');
    const loaded = await rawIds(warehouse.db);
    assertLoaded(t, loaded, [...changed, ...added]);
    t.deepEqual(
      run.counts,
      countByType([...changed, ...added, ...sandbox.pdex.shared()]),
      'per type: the delta of the others, the whole lookback of the added members (and the shared resources it carries)',
    );
    const rows = await exchangeMembers(warehouse.db);
    t.true(rows.filter((m) => m.outcome === 'matched').every((m) => m.first_pull_at !== null));
  },
);

test.serial(
  'a member newly matched into a later round Group beside members pulled before: a lookback of their own, _since for the others',
  async (t) => {
    const watermarks = await memberWatermarks();
    sandbox.advance();
    clock.set('2026-07-02T08:00:00Z'); // 31 days after the round began; member 9's consent started 2026-06-15
    const before = sandbox.pdex.matchRequests.length;
    const exportsBefore = (await exportKickOffs(warehouse.db)).length;

    const run = await runExchange(warehouse.db, source, clock);

    t.is(run.status, 'succeeded', run.error);
    t.deepEqual(
      sentPerRequest(before),
      [[0, 9, 1], [2, 3, 4], [5, 6, 7], [8]],
      'a new round: everyone, in batches',
    );
    const recorded = await batches();
    const round = recorded.at(-1)?.round;
    t.deepEqual(
      recorded.filter((b) => b.round === round).map((b) => [b.batch, b.matched]),
      [
        [1, 3],
        [2, 3],
        [3, 3],
        [4, 1],
      ],
    );
    const firstGroup = sandbox.pdex.groups()[4];
    t.deepEqual(
      firstGroup?.members.sort((a, b) => a - b),
      [0, 1, LATE_CONSENT],
    );
    const kickOffs = (await exportKickOffs(warehouse.db)).slice(exportsBefore);
    const ofFirstGroup = kickOffs.filter((k) => k.url.includes(`/Group/${firstGroup?.id}/`));
    const ref = (i: number) => `Patient/${sandbox.members[i]?.patientId}`;
    t.deepEqual(
      ofFirstGroup.map((k) => ({ since: k.values('_since'), patient: k.values('patient') })),
      [
        { since: [watermarks.get(0)], patient: [ref(0), ref(1)].sort() },
        { since: [], patient: [ref(LATE_CONSENT)] },
      ],
    );
    t.true(ofFirstGroup[1]?.values('_typeFilter').includes('Encounter?date=ge2021-07-02'));
    t.is(kickOffs.length, 5, 'two pulls of the Group with both, one of each other Group');
    // Each other Group from the oldest watermark of its members (5 and 6 were pulled apart from 7).
    const newGroups = sandbox.pdex.groups().slice(5);
    const expectedSince = newGroups.map(
      (g) =>
        g.members.map((i) => watermarks.get(i) as string).sort((a, b) => Date.parse(a) - Date.parse(b))[0],
    );
    const others = kickOffs.filter((k) => !ofFirstGroup.includes(k));
    t.deepEqual(
      others.map((k) => ({ since: k.values('_since'), patient: k.values('patient') })),
      expectedSince.map((since) => ({ since: [since], patient: [] })),
    );
    t.not(watermarks.get(5), watermarks.get(7), 'members pulled apart before share a Group now');
    const history = lookbackOf(LATE_CONSENT, '2021-07-02');
    const delta = [
      ...changedSince(0, watermarks.get(0) as string),
      ...changedSince(1, watermarks.get(0) as string),
      ...newGroups.flatMap((g, i) => g.members.flatMap((m) => changedSince(m, expectedSince[i] as string))),
    ];
    t.true(delta.length > 0);
    t.deepEqual(
      run.counts,
      countByType([...delta, ...history, ...sandbox.pdex.shared()]),
      'per type: the delta of the members pulled before, the whole lookback of the newly matched one',
    );
    assertLoaded(t, await rawIds(warehouse.db), history);
    const [rows] = await warehouse.db.query(sql`
      SELECT count(*)::int AS n FROM fhir_raw.encounter
      WHERE source = 'prior-payer' AND resource->'subject'->>'reference' = ${ref(LATE_CONSENT)}`);
    t.is(
      rows.n,
      history.filter((r) => r.resourceType === 'Encounter').length,
      'every Encounter of theirs, exactly',
    );
    const member = (await exchangeMembers(warehouse.db)).find((m) => m.member_id === memberId(LATE_CONSENT));
    t.is(member?.outcome, 'matched');
    t.not(member?.first_pull_at, null);
  },
);

test.serial(
  'status: submitted, matched, not matched, consent-constrained, last pull, and the next re-match from the latest round, not a removed member',
  async (t) => {
    clock.set('2026-07-03T08:00:00Z');
    source = await sourceFor([...FIRST_LIST, 7]); // member 8 leaves the list
    const removed = await runExchange(warehouse.db, source, clock);
    t.is(removed.status, 'succeeded', removed.error);
    clock.set('2026-08-02T08:00:00Z'); // the round of 2026-07-02 is 31 days old
    const before = sandbox.pdex.matchRequests.length;

    const run = await runExchange(warehouse.db, source, clock);

    t.is(run.status, 'succeeded', run.error);
    t.deepEqual(sentPerRequest(before), [
      [0, 9, 1],
      [2, 3, 4],
      [5, 6, 7],
    ]);
    const config = configSchema.parse({ sources: [source] });
    const status = await readStatus(warehouse.db, { sources: config.sources });
    t.deepEqual(status.exchanges, [
      {
        source: 'prior-payer',
        mode: 'bulk',
        submitted: 10,
        matched: 10,
        not_matched: 0,
        consent_constrained: 0,
        pulls_stopped: 1,
        last_pull_at: new Date('2026-08-02T08:00:00Z'),
        last_pull_kind: 'since',
        next_rematch_at: new Date('2026-09-01T08:00:00Z'),
      },
    ]);
    const member = (await exchangeMembers(warehouse.db)).find((m) => m.member_id === memberId(8));
    t.is(member?.pulls_stopped, 'no longer in the member input');
  },
);

test.serial(
  'a prior payer that answers 404 for a Group: every member is matched again in a new round, in the same run, then pulled',
  async (t) => {
    clock.set('2026-08-03T08:00:00Z'); // a day after the last round: young by our clock
    sandbox.pdex.forgetGroups();
    const before = sandbox.pdex.matchRequests.length;
    const exportsBefore = (await exportKickOffs(warehouse.db)).length;
    const rounds = new Set((await batches()).map((b) => b.round));

    const run = await runExchange(warehouse.db, source, clock);

    t.is(run.status, 'succeeded', run.error);
    const refused = sandbox.requests.filter(
      (r) => r.status === 404 && r.url.includes('$davinci-data-export'),
    );
    t.is(refused.length, 1, 'the first Group pulled answers 404; the round is matched again at once');
    t.deepEqual(sentPerRequest(before), [
      [0, 9, 1],
      [2, 3, 4],
      [5, 6, 7],
    ]);
    const recorded = await batches();
    const latest = recorded.at(-1)?.round;
    t.false(rounds.has(latest), 'a new round');
    const forgotten = Math.max(...[...rounds].map(Number));
    t.deepEqual(
      recorded.filter((b) => b.round === forgotten).map((b) => b.state),
      ['expired', 'expired', 'expired'],
      'the forgotten round is recorded expired',
    );
    const groups = sandbox.pdex.groups();
    const kickOffs = (await exportKickOffs(warehouse.db)).slice(exportsBefore);
    t.deepEqual(
      kickOffs.slice(-3).map((k) => k.url.replace(/.*\/Group\/([^/]+)\/.*/, '$1')),
      groups.map((g) => g.id),
      "the new round's Groups are pulled",
    );
    for (const k of kickOffs.slice(-3)) t.is(k.values('_since').length, 1, 'with _since: pulled before');
  },
);

test.serial(
  'a member whose row changed is matched alone; their former Group is then pulled naming only the members still in it',
  async (t) => {
    clock.set('2026-08-04T08:00:00Z');
    const rows = [...FIRST_LIST, 7].map((i) =>
      i === 2 ? { ...rowOf(2), address_line: '9 Elm Street' } : rowOf(i),
    );
    source = exchangeSource(sandbox, { file: await writeMembersCsv(rows) }, keys, {
      match: { maxPollIntervalSeconds: 0.05, batchSize: 3 },
    });
    const watermarks = await memberWatermarks();
    const before = sandbox.pdex.matchRequests.length;
    const exportsBefore = (await exportKickOffs(warehouse.db)).length;
    const formerGroup = sandbox.pdex.groups().find((g) => g.members.includes(2));

    const run = await runExchange(warehouse.db, source, clock);

    t.is(run.status, 'succeeded', run.error);
    t.deepEqual(sentPerRequest(before), [[2]]);
    const groups = sandbox.pdex.groups();
    const kickOffs = (await exportKickOffs(warehouse.db)).slice(exportsBefore);
    const groupOf = (k: { url: string }) => k.url.replace(/.*\/Group\/([^/]+)\/.*/, '$1');
    const ref = (i: number) => `Patient/${sandbox.members[i]?.patientId}`;
    const former = kickOffs.find((k) => groupOf(k) === formerGroup?.id);
    t.deepEqual(
      former?.values('patient'),
      [ref(3), ref(4)].sort(),
      "member 2 is in the server's Group still",
    );
    const own = kickOffs.find((k) => groupOf(k) === groups.at(-1)?.id);
    t.deepEqual(own?.values('patient'), []);
    t.deepEqual(own?.values('_since'), [watermarks.get(2)], 'pulled before: no second lookback');
    t.is(kickOffs.length, 4, "the three Groups of the round and the changed member's own");
  },
);
