import { sql } from '@databases/pg';
import test from 'ava';
import { configSchema } from '../config/index.ts';
import { readStatus } from '../pipeline/status.ts';
import { type Sandbox, startSandbox } from '../sandbox/index.ts';
import { runCli } from './helpers/cli.ts';
import {
  backendServicesClient,
  type Clock,
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
 * CMS-0057-F Payer-to-Payer in bulk against the sandbox's prior payer: 20 members matched with
 * $bulk-member-match (SMART Backend Services), then the matched Group pulled with
 * $davinci-data-export #payertopayer: a 5-year lookback first, `_since` after, a re-match when
 * the Group is old or gone, and an ended consent leaving its member out. The tests run in order
 * on one sandbox and one warehouse, each on the shared clock.
 */

const warehouse = useTestWarehouse(test);

/** Sandbox members by role in the scenario (sandbox member index). */
const MATCHING = Array.from({ length: 15 }, (_, i) => i);
const EXPIRED_CONSENT = 15;
const NON_SENSITIVE = 16;
const ENDS_SOON = 3; // one of MATCHING: consent ends 2026-06-20
const WRONG_MEMBER_ID = 17; // real demographics, a member id nobody has
const AMBIGUOUS = [18, 19] as const; // demographics of 18, member id of 19

let sandbox: Sandbox;
let clock: Clock;
let source: Record<string, unknown>;

test.before(async () => {
  clock = clockAt('2026-06-01T08:00:00Z');
  const keys = await backendServicesClient();
  sandbox = await startSandbox({
    patients: 20,
    retryAfterSeconds: 0,
    now: clock.now,
    clients: [keys.client],
  });
  const rows = [
    ...MATCHING.map((i) => memberRow(sandbox, i, i === ENDS_SOON ? { consent_end: '2026-06-20' } : {})),
    memberRow(sandbox, EXPIRED_CONSENT, { consent_start: '2025-01-01', consent_end: '2025-12-31' }),
    memberRow(sandbox, NON_SENSITIVE, { consent_policy: 'non-sensitive' }),
    memberRow(sandbox, 0, {
      member_id: 'NEW-NOBODY',
      given: 'Nobody',
      family: 'Known',
      birth_date: '1970-01-01',
      old_member_id: 'MB00000999',
    }),
    memberRow(sandbox, WRONG_MEMBER_ID, { old_member_id: 'MB77777777' }),
    memberRow(sandbox, AMBIGUOUS[0], { old_member_id: sandbox.members[AMBIGUOUS[1]]?.memberId }),
  ];
  source = exchangeSource(sandbox, { file: await writeMembersCsv(rows) }, keys);
});
test.after.always(() => sandbox?.close());

const memberId = (index: number) => `NEW-${String(index).padStart(4, '0')}`;

/** What the lookback asks for, read independently of the server's search code: date of service >= from. */
const DATE_OF_SERVICE: Record<string, (r: Record<string, unknown>) => unknown> = {
  Encounter: (r) => (r.period as { start?: string } | undefined)?.start,
  Condition: (r) => r.onsetDateTime,
  Observation: (r) => r.effectiveDateTime,
  Procedure: (r) => (r.performedPeriod as { start?: string } | undefined)?.start,
  MedicationRequest: (r) => r.authoredOn,
  Immunization: (r) => r.occurrenceDateTime,
  ExplanationOfBenefit: (r) => (r.billablePeriod as { start?: string } | undefined)?.start,
};

function inLookback(resource: Record<string, unknown>, from: string): boolean {
  if (resource.resourceType === 'ExplanationOfBenefit' && resource.use === 'preauthorization') return true;
  const read = DATE_OF_SERVICE[resource.resourceType as string];
  if (!read) return true;
  const value = read(resource);
  return typeof value === 'string' && value.slice(0, 10) >= from;
}

/** The ids the first pull must load: matched members' records in the lookback, and the shared resources. */
function expectedFirstPull(from: string): Map<string, Set<string>> {
  const expected = new Map<string, Set<string>>();
  const add = (r: { resourceType: string; id: string }) => {
    if (!expected.has(r.resourceType)) expected.set(r.resourceType, new Set());
    expected.get(r.resourceType)?.add(r.id);
  };
  for (const index of MATCHING)
    for (const r of sandbox.pdex.recordOf(index, 'all')) if (inLookback(r, from)) add(r);
  for (const r of sandbox.pdex.recordOf(NON_SENSITIVE, 'non-sensitive')) if (inLookback(r, from)) add(r);
  for (const r of sandbox.pdex.shared()) add(r);
  return expected;
}

test.serial(
  '20 members: 16 matched (one non-sensitive only), 3 not matched, 1 consent-constrained, exactly',
  async (t) => {
    const run = await runExchange(warehouse.db, source, clock);
    t.is(run.status, 'succeeded', run.error);

    const members = await exchangeMembers(warehouse.db);
    const outcome = (id: string) => members.find((m) => m.member_id === id);
    t.is(members.length, 20);
    const [group] = sandbox.pdex.groups();
    for (const index of [...MATCHING, NON_SENSITIVE]) {
      const m = outcome(memberId(index));
      t.is(m?.outcome, 'matched', memberId(index));
      t.is(m?.group_id, group?.id);
      t.is(m?.old_patient_id, sandbox.members[index]?.patientId);
      t.is(m?.old_member_id, sandbox.members[index]?.memberId);
      t.is(m?.matched_at.toISOString(), '2026-06-01T08:00:00.000Z');
    }
    t.is(outcome(memberId(NON_SENSITIVE))?.consent_policy, 'non-sensitive');
    t.is(outcome(memberId(EXPIRED_CONSENT))?.outcome, 'consent-constrained');
    for (const id of ['NEW-NOBODY', memberId(WRONG_MEMBER_ID), memberId(AMBIGUOUS[0])]) {
      t.is(outcome(id)?.outcome, 'not-matched', id);
      t.is(outcome(id)?.group_id, null);
    }
    t.deepEqual(
      group?.members.sort((a, b) => a - b),
      [...MATCHING, NON_SENSITIVE],
    );
    const [match] = await warehouse.db.query(sql`SELECT * FROM fhir_etl.exchange_matches`);
    t.like(match, {
      mode: 'bulk',
      state: 'completed',
      submitted: 20,
      matched: 16,
      not_matched: 3,
      consent_constrained: 1,
    });
  },
);

test.serial(
  'the matched members are loaded exactly, 5 years back by date of service; the non-sensitive member has no sensitive data',
  async (t) => {
    const [kickOff] = await exportKickOffs(warehouse.db);
    t.regex(kickOff?.url ?? '', /\/Group\/p2p-match-1\/\$davinci-data-export$/);
    t.deepEqual(kickOff?.values('exportType'), ['hl7.fhir.us.davinci-pdex#payertopayer']);
    t.deepEqual(kickOff?.values('_since'), []);
    t.deepEqual(kickOff?.values('patient'), [], 'the whole Group');
    t.deepEqual(kickOff?.values('_typeFilter').sort(), [
      'Condition?onset-date=ge2021-06-01',
      'Encounter?date=ge2021-06-01',
      'ExplanationOfBenefit?service-date=ge2021-06-01',
      'ExplanationOfBenefit?use=preauthorization',
      'Immunization?date=ge2021-06-01',
      'MedicationRequest?authoredon=ge2021-06-01',
      'Observation?date=ge2021-06-01',
      'Procedure?date=ge2021-06-01',
    ]);

    const loaded = await rawIds(warehouse.db);
    const expected = expectedFirstPull('2021-06-01');
    t.deepEqual([...loaded.keys()].sort(), [...expected.keys()].sort());
    for (const [type, ids] of expected)
      t.deepEqual([...(loaded.get(type) ?? [])].sort(), [...ids].sort(), type);

    const sensitive = (index: number) => `bh-${String(index).padStart(6, '0')}-1`;
    t.false(
      loaded.get('Condition')?.has(sensitive(NON_SENSITIVE)),
      "the non-sensitive member's sensitive Condition is withheld",
    );
    t.true(loaded.get('Condition')?.has(sensitive(0)), 'an all-data member has theirs');
    const [labelled] = await warehouse.db.query(
      sql`SELECT resource->'meta'->'security' AS security FROM fhir_raw.condition WHERE id = ${sensitive(0)}`,
    );
    t.deepEqual(
      labelled.security.map((s: { code: string }) => s.code),
      ['PSY', 'R'],
    );
    const [claims] = await warehouse.db.query(sql`
    SELECT count(*) FILTER (WHERE resource ? 'total' OR resource ? 'payment')::int AS financial,
           count(*) FILTER (WHERE resource->>'use' = 'preauthorization')::int AS prior_auths
    FROM fhir_raw.explanation_of_benefit WHERE source = 'prior-payer'`);
    t.is(claims.financial, 0, 'Basis (non-financial) EOBs only');
    t.true(claims.prior_auths > 0);
    const rows = await exchangeMembers(warehouse.db);
    t.true(rows.filter((m) => m.outcome === 'matched').every((m) => m.first_pull_at !== null));
  },
);

test.serial('a second run pulls only the delta, with _since the first export transactionTime', async (t) => {
  const [first] = await warehouse.db.query(
    sql`SELECT transaction_time FROM fhir_etl.bulk_exports ORDER BY id LIMIT 1`,
  );
  const before = await rawIds(warehouse.db);
  for (let step = 0; step < 3; step++) sandbox.advance();
  const since = Date.parse(first.transaction_time);
  const changed = [...MATCHING, NON_SENSITIVE].flatMap((index) =>
    sandbox.pdex
      .recordOf(index, index === NON_SENSITIVE ? 'non-sensitive' : 'all')
      .filter((r) => Date.parse(r.meta.lastUpdated) > since),
  );
  t.true(changed.length > 0, 'the sandbox changed some matched members');

  const run = await runExchange(warehouse.db, source, clock);

  t.is(run.status, 'succeeded', run.error);
  const kickOffs = await exportKickOffs(warehouse.db);
  t.is(kickOffs.length, 2);
  t.deepEqual(kickOffs[1]?.values('_since'), [first.transaction_time]);
  t.deepEqual(kickOffs[1]?.values('_typeFilter'), [], 'no lookback on later pulls');
  t.is(sandbox.pdex.matchRequests.length, 1, 'no second match');
  t.is(run.counts.Patient ?? 0, changed.filter((r) => r.resourceType === 'Patient').length);
  t.is(run.resources, changed.length, 'only what changed since');
  const after = await rawIds(warehouse.db);
  for (const r of changed) t.true(after.get(r.resourceType)?.has(r.id), `${r.resourceType}/${r.id} loaded`);
  const [versions] = await warehouse.db.query(sql`
    SELECT count(*)::int AS n FROM fhir_raw.patient WHERE source = 'prior-payer' AND version_id <> '1'`);
  t.is(versions.n, changed.filter((r) => r.resourceType === 'Patient').length);
  t.true([...before.keys()].every((type) => after.has(type)));
});

test.serial(
  'a member whose consent ended is left out of the next pull (patient=), and recorded as stopped',
  async (t) => {
    clock.set('2026-06-25T08:00:00Z'); // 24 days after the match: the Group is still fresh

    const run = await runExchange(warehouse.db, source, clock);

    t.is(run.status, 'succeeded', run.error);
    t.is(sandbox.pdex.matchRequests.length, 1, 'no re-match for a consent that ended');
    const kickOff = (await exportKickOffs(warehouse.db)).at(-1);
    const expected = [...MATCHING, NON_SENSITIVE]
      .filter((i) => i !== ENDS_SOON)
      .map((i) => `Patient/${sandbox.members[i]?.patientId}`)
      .sort();
    t.deepEqual(kickOff?.values('patient'), expected);
    const stopped = (await exchangeMembers(warehouse.db)).find((m) => m.member_id === memberId(ENDS_SOON));
    t.is(stopped?.pulls_stopped, 'consent ended 2026-06-20');
    t.is(stopped?.outcome, 'matched');
  },
);

test.serial(
  'once the Group is older than 30 days the next run matches again, then pulls with _since',
  async (t) => {
    const watermark = (
      await warehouse.db.query(
        sql`SELECT watermark FROM fhir_etl.exchange_pulls WHERE state = 'completed' ORDER BY id DESC LIMIT 1`,
      )
    )[0].watermark as string;
    clock.set('2026-07-02T08:00:00Z'); // 31 days after the first match

    const run = await runExchange(warehouse.db, source, clock);

    t.is(run.status, 'succeeded', run.error);
    t.is(sandbox.pdex.matchRequests.length, 2, 'matched again');
    const groups = sandbox.pdex.groups();
    t.is(groups.length, 2);
    const kickOff = (await exportKickOffs(warehouse.db)).at(-1);
    t.regex(kickOff?.url ?? '', new RegExp(`/Group/${groups[1]?.id}/\\$davinci-data-export$`));
    t.deepEqual(kickOff?.values('_since'), [watermark], 'the members had their lookback pull already');
    const members = await exchangeMembers(warehouse.db);
    const row = (i: number) => members.find((m) => m.member_id === memberId(i));
    t.is(row(1)?.group_id, groups[1]?.id);
    t.is(row(ENDS_SOON)?.outcome, 'consent-constrained', 'the prior payer refuses the ended consent now');
    t.is(row(EXPIRED_CONSENT)?.outcome, 'consent-constrained');
  },
);

test.serial('a Group the server answers 410 for is matched again in the same run, then pulled', async (t) => {
  sandbox.pdex.settings.groupLifetimeDays = 5;
  clock.set('2026-07-08T08:00:00Z'); // 6 days after the re-match: young for us, expired for the server

  const run = await runExchange(warehouse.db, source, clock);

  t.is(run.status, 'succeeded', run.error);
  t.is(sandbox.pdex.matchRequests.length, 3);
  const refused = sandbox.requests.filter((r) => r.status === 410 && r.url.includes('$davinci-data-export'));
  t.is(refused.length, 1);
  const [expired] = await warehouse.db.query(
    sql`SELECT state, error FROM fhir_etl.exchange_matches ORDER BY id DESC OFFSET 1 LIMIT 1`,
  );
  t.is(expired.state, 'expired');
  const kickOff = (await exportKickOffs(warehouse.db)).at(-1);
  t.regex(kickOff?.url ?? '', new RegExp(`/Group/${sandbox.pdex.groups()[2]?.id}/`));
  sandbox.pdex.settings.groupLifetimeDays = 30;
});

test.serial(
  'every MemberBundle sent satisfies the HRex profiles (required elements, cardinalities, invariants)',
  (t) => {
    const requests = sandbox.pdex.matchRequests as Array<{ resourceType: string; parameter: unknown[] }>;
    t.is(requests.length, 3);
    for (const request of requests) {
      t.is(request.resourceType, 'Parameters');
      t.is(request.parameter.length, 20);
      for (const bundle of request.parameter) t.deepEqual(memberBundleViolations(bundle), []);
    }
  },
);

test.serial(
  'status shows the exchange: members submitted, matched, not matched, consent-constrained, last pull, next re-match',
  async (t) => {
    const config = configSchema.parse({ sources: [source] });
    const status = await readStatus(warehouse.db, { sources: config.sources });

    t.deepEqual(status.exchanges, [
      {
        source: 'prior-payer',
        mode: 'bulk',
        submitted: 20,
        matched: 15,
        not_matched: 3,
        consent_constrained: 2,
        pulls_stopped: 0,
        last_pull_at: new Date('2026-07-08T08:00:00Z'),
        last_pull_kind: 'since',
        next_rematch_at: new Date('2026-08-07T08:00:00Z'),
      },
    ]);
    const cli = await runCli(['status'], { databaseUrl: warehouse.url });
    t.is(cli.code, 0, cli.stderr);
    t.regex(cli.stdout, /payer exchanges \(Payer-to-Payer\)/);
    t.regex(
      cli.stdout,
      /prior-payer\s+bulk\s+20\s+15\s+3\s+2\s+0\s+2026-07-08 08:00:00 \(since\)\s+2026-08-07 08:00:00/,
    );
  },
);
