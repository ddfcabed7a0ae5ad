import { type ConnectionPool, sql } from '@databases/pg';
import type { SqlQueryable } from '../../loaders/postgres/load-transaction.ts';
import type { MatchOutcome } from '../../connectors/member-match/index.ts';
import { queryRows } from '../../loaders/postgres/query-rows.ts';
import { queryRow } from '../../loaders/postgres/query-row.ts';

/**
 * The state of payer exchanges in fhir_etl (migrations/050_payer_exchange.sql): match requests
 * (a bulk match's status URL, so a restarted run polls it instead of matching again), every
 * member's outcome, and the pulls (their parameters, so a restarted run resumes the same export).
 */

export interface MatchRecord {
  id: number;
  mode: 'bulk' | 'single';
  state: 'polling' | 'completed' | 'failed' | 'expired' | 'superseded';
  statusUrl: string | null;
  submission: string;
  /** Bulk: the round (the id of its first batch) and this request's place in it. */
  round: number | null;
  batch: number | null;
  /** Members the completed match put in MatchedMembers Groups. */
  matched: number | null;
  startedAt: Date;
  completedAt: Date | null;
}

export interface MemberRecord {
  memberId: string;
  submittedId: string;
  submission: string | null;
  outcome: 'pending' | MatchOutcome;
  matchId: number | null;
  groupId: string | null;
  oldPatientId: string | null;
  matchedAt: Date | null;
  watermark: string | null;
  firstPullAt: Date | null;
}

/** A member's outcome as a match decided it. */
export interface MemberDecision {
  memberId: string;
  submittedId: string;
  submission: string;
  outcome: MatchOutcome;
  groupId?: string;
  oldPatientId?: string;
  oldMemberId?: string;
  reason?: string;
  consent: { policy: string; start: string; end: string };
}

export interface PullRecord {
  id: number;
  groupId: string | null;
  memberId: string | null;
  kind: 'lookback' | 'since';
  since: string | null;
  lookbackFrom: string | null;
  patients: string[] | null;
  state: 'running' | 'completed' | 'failed' | 'superseded';
  watermark: string | null;
}

/** The source's latest bulk match (batch), whatever its state. */
export async function latestBulkMatch(db: SqlQueryable, source: string): Promise<MatchRecord | undefined> {
  const [row]: Array<Record<string, unknown>> = await queryRows(
    db,
    sql`
    SELECT * FROM fhir_etl.exchange_matches WHERE source = ${source} AND mode = 'bulk' ORDER BY id DESC LIMIT 1`,
  );
  return row ? toMatch(row) : undefined;
}

export async function recordMatchStarted(
  db: SqlQueryable,
  match: {
    source: string;
    mode: 'bulk' | 'single';
    statusUrl?: string;
    submitted: number;
    submission: string;
    runId: number;
    /** A bulk batch: the round it belongs to (none: it starts a round) and its place in it. */
    batch?: { round?: number; index: number };
  },
  startedAt: Date,
): Promise<number> {
  // The id is drawn first so that a round's first batch names itself as the round in one statement.
  const row = await queryRow<{ id: number | string }>(
    db,
    sql`
    WITH next AS (SELECT nextval(pg_get_serial_sequence('fhir_etl.exchange_matches', 'id')) AS id)
    INSERT INTO fhir_etl.exchange_matches (id, source, mode, status_url, submitted, submission, run_id, started_at,
                                           round, batch)
    OVERRIDING SYSTEM VALUE
    SELECT next.id, ${match.source}, ${match.mode}, ${match.statusUrl ?? null}, ${match.submitted}, ${match.submission},
           ${match.runId}, ${startedAt},
           CASE WHEN ${match.batch !== undefined} THEN coalesce(${match.batch?.round ?? null}::bigint, next.id) END,
           ${match.batch?.index ?? null}::int
    FROM next
    RETURNING id`,
  );
  return Number(row.id);
}

/** The batches of a round, in the order they were sent. */
export async function roundBatches(db: SqlQueryable, round: number): Promise<MatchRecord[]> {
  const rows = await db.query(sql`
    SELECT * FROM fhir_etl.exchange_matches WHERE round = ${round} ORDER BY batch, id`);
  return rows.map(toMatch);
}

/** A round the prior payer forgot (404/410 for one of its Groups): its batches are expired, matched anew. */
export async function expireRound(db: SqlQueryable, round: number, error: string): Promise<void> {
  await db.query(sql`
    UPDATE fhir_etl.exchange_matches SET state = 'expired', error = ${error}
    WHERE round = ${round} AND state = 'completed'`);
}

export async function endMatch(
  db: SqlQueryable,
  id: number,
  state: 'failed' | 'expired' | 'superseded',
  error: string,
): Promise<void> {
  await db.query(
    sql`UPDATE fhir_etl.exchange_matches SET state = ${state}, error = ${error} WHERE id = ${id}`,
  );
}

/**
 * Records a completed match and every member's outcome in one transaction: a crash leaves
 * either the match still to finish (and resume) or all of it recorded.
 */
export async function recordMatchOutcomes(
  db: ConnectionPool,
  source: string,
  matchId: number,
  decisions: MemberDecision[],
  completedAt: Date,
): Promise<void> {
  const count = (outcome: MatchOutcome) => decisions.filter((d) => d.outcome === outcome).length;
  await db.tx(async (tx) => {
    await tx.query(sql`
      UPDATE fhir_etl.exchange_matches SET state = 'completed', completed_at = ${completedAt}, error = NULL,
        matched = ${count('matched')}, not_matched = ${count('not-matched')},
        consent_constrained = ${count('consent-constrained')}
      WHERE id = ${matchId}`);
    if (decisions.length === 0) return;
    const column = <T>(read: (d: MemberDecision) => T) => decisions.map(read);
    await tx.query(sql`
      INSERT INTO fhir_etl.exchange_members (source, member_id, submitted_id, submission, outcome, match_id, group_id,
        old_patient_id, old_member_id, matched_at, reason, consent_policy, consent_start, consent_end, pulls_stopped)
      SELECT ${source}, d.member_id, d.submitted_id, d.submission, d.outcome, ${matchId}, d.group_id, d.old_patient_id,
             d.old_member_id, ${completedAt}, d.reason, d.consent_policy, d.consent_start, d.consent_end, NULL
      FROM unnest(${column((d) => d.memberId)}::text[], ${column((d) => d.submittedId)}::text[],
                  ${column((d) => d.submission)}::text[], ${column((d) => d.outcome)}::text[],
                  ${column((d) => d.groupId ?? null)}::text[], ${column((d) => d.oldPatientId ?? null)}::text[],
                  ${column((d) => d.oldMemberId ?? null)}::text[], ${column((d) => d.reason ?? null)}::text[],
                  ${column((d) => d.consent.policy)}::text[], ${column((d) => d.consent.start)}::date[],
                  ${column((d) => d.consent.end)}::date[])
           AS d(member_id, submitted_id, submission, outcome, group_id, old_patient_id, old_member_id, reason,
                consent_policy, consent_start, consent_end)
      ON CONFLICT (source, member_id) DO UPDATE SET submitted_id = EXCLUDED.submitted_id,
        submission = EXCLUDED.submission, outcome = EXCLUDED.outcome, match_id = EXCLUDED.match_id,
        group_id = EXCLUDED.group_id, old_patient_id = EXCLUDED.old_patient_id,
        old_member_id = EXCLUDED.old_member_id, matched_at = EXCLUDED.matched_at, reason = EXCLUDED.reason,
        consent_policy = EXCLUDED.consent_policy, consent_start = EXCLUDED.consent_start,
        consent_end = EXCLUDED.consent_end, pulls_stopped = NULL, updated_at = now()`);
  });
}

export async function membersOf(db: SqlQueryable, source: string): Promise<Map<string, MemberRecord>> {
  // In match order, so a round's Groups are pulled in the order of its batches.
  const rows: Array<Record<string, unknown>> = await queryRows(
    db,
    sql`SELECT * FROM fhir_etl.exchange_members WHERE source = ${source} ORDER BY match_id, member_id`,
  );
  return new Map(rows.map((row) => [row.member_id as string, toMember(row)]));
}

/** Members a pull left out, and why (their consent ended, they left the member input). */
export async function stopPulls(
  db: SqlQueryable,
  source: string,
  stopped: Array<{ memberId: string; reason: string }>,
): Promise<void> {
  for (const s of stopped) {
    await db.query(sql`
      UPDATE fhir_etl.exchange_members SET pulls_stopped = ${s.reason}, updated_at = now()
      WHERE source = ${source} AND member_id = ${s.memberId} AND pulls_stopped IS DISTINCT FROM ${s.reason}`);
  }
}

/** The pulls a crashed run left running for a Group, newest first. */
export async function runningGroupPulls(
  db: SqlQueryable,
  source: string,
  groupId: string,
): Promise<PullRecord[]> {
  const rows = await db.query(sql`
    SELECT * FROM fhir_etl.exchange_pulls
    WHERE source = ${source} AND state = 'running' AND group_id = ${groupId} AND member_id IS NULL
    ORDER BY id DESC`);
  return rows.map(toPull);
}

/** The pull a crashed run left running, for a Group (bulk) or a member (single). */
export async function runningPull(
  db: SqlQueryable,
  source: string,
  of: { groupId?: string; memberId?: string },
): Promise<PullRecord | undefined> {
  const [row]: Array<Record<string, unknown>> = await queryRows(
    db,
    sql`
    SELECT * FROM fhir_etl.exchange_pulls
    WHERE source = ${source} AND state = 'running'
      AND group_id IS NOT DISTINCT FROM ${of.groupId ?? null} AND member_id IS NOT DISTINCT FROM ${of.memberId ?? null}
    ORDER BY id DESC LIMIT 1`,
  );
  return row ? toPull(row) : undefined;
}

/**
 * Group pulls still running that this run will not resume are superseded: those of a Group
 * (every Group not in `groups`, when given) other than the pulls in `keep`.
 */
export async function supersedeRunningPulls(
  db: SqlQueryable,
  source: string,
  scope: { groupId: string; keep: number[] } | { notInGroups: string[] },
): Promise<void> {
  const which =
    'groupId' in scope
      ? sql`group_id = ${scope.groupId} AND NOT (id = ANY(${scope.keep}::bigint[]))`
      : sql`NOT (group_id = ANY(${scope.notInGroups}::text[]))`;
  await db.query(sql`
    UPDATE fhir_etl.exchange_pulls SET state = 'superseded'
    WHERE source = ${source} AND state = 'running' AND member_id IS NULL AND ${which}`);
}

export async function startPull(
  db: SqlQueryable,
  pull: Omit<PullRecord, 'id' | 'state' | 'watermark'> & { source: string; runId: number },
): Promise<PullRecord> {
  const row = await queryRow<Record<string, unknown>>(
    db,
    sql`
    INSERT INTO fhir_etl.exchange_pulls (source, group_id, member_id, kind, since, lookback_from, patients, run_id)
    VALUES (${pull.source}, ${pull.groupId}, ${pull.memberId}, ${pull.kind}, ${pull.since}, ${pull.lookbackFrom},
            ${pull.patients === null ? null : JSON.stringify(pull.patients)}::jsonb, ${pull.runId})
    RETURNING *`,
  );
  return toPull(row);
}

/**
 * A pull completed: its watermark, which becomes each of its members' next `_since`, and their
 * pull times. A lookback pull is each member's first.
 */
export async function completePull(
  db: ConnectionPool,
  source: string,
  pull: PullRecord,
  done: { watermark: string; memberIds: string[]; at: Date },
): Promise<void> {
  await db.tx(async (tx) => {
    await tx.query(sql`
      UPDATE fhir_etl.exchange_pulls SET state = 'completed', watermark = ${done.watermark}, completed_at = ${done.at},
        error = NULL
      WHERE id = ${pull.id}`);
    await tx.query(sql`
      UPDATE fhir_etl.exchange_members SET last_pull_at = ${done.at},
        first_pull_at = CASE WHEN ${pull.kind} = 'lookback' THEN coalesce(first_pull_at, ${done.at}) ELSE first_pull_at END,
        watermark = ${done.watermark},
        updated_at = now()
      WHERE source = ${source} AND member_id = ANY(${done.memberIds}::text[])`);
  });
}

export async function failPull(db: SqlQueryable, pullId: number, error: string): Promise<void> {
  await db.query(sql`UPDATE fhir_etl.exchange_pulls SET error = ${error} WHERE id = ${pullId}`);
}

/**
 * The watermark of the source's last completed Group pull: the `_since` of members pulled before
 * per-member watermarks were kept (they have a first pull but no watermark of their own).
 */
export async function lastGroupWatermark(db: SqlQueryable, source: string): Promise<string | undefined> {
  const [row]: Array<{ watermark: string | null }> = await queryRows(
    db,
    sql`
    SELECT watermark FROM fhir_etl.exchange_pulls
    WHERE source = ${source} AND member_id IS NULL AND state = 'completed' ORDER BY id DESC LIMIT 1`,
  );
  return row?.watermark ?? undefined;
}

function toMatch(row: Record<string, unknown>): MatchRecord {
  return {
    id: Number(row.id),
    mode: row.mode as MatchRecord['mode'],
    state: row.state as MatchRecord['state'],
    statusUrl: (row.status_url as string | null) ?? null,
    submission: row.submission as string,
    round: row.round === null || row.round === undefined ? null : Number(row.round),
    batch: row.batch === null || row.batch === undefined ? null : Number(row.batch),
    matched: row.matched === null || row.matched === undefined ? null : Number(row.matched),
    startedAt: row.started_at as Date,
    completedAt: (row.completed_at as Date | null) ?? null,
  };
}

function toMember(row: Record<string, unknown>): MemberRecord {
  return {
    memberId: row.member_id as string,
    submittedId: row.submitted_id as string,
    submission: (row.submission as string | null) ?? null,
    outcome: row.outcome as MemberRecord['outcome'],
    matchId: row.match_id === null ? null : Number(row.match_id),
    groupId: (row.group_id as string | null) ?? null,
    oldPatientId: (row.old_patient_id as string | null) ?? null,
    matchedAt: (row.matched_at as Date | null) ?? null,
    watermark: (row.watermark as string | null) ?? null,
    firstPullAt: (row.first_pull_at as Date | null) ?? null,
  };
}

function toPull(row: Record<string, unknown>): PullRecord {
  return {
    id: Number(row.id),
    groupId: (row.group_id as string | null) ?? null,
    memberId: (row.member_id as string | null) ?? null,
    kind: row.kind as PullRecord['kind'],
    since: (row.since as string | null) ?? null,
    lookbackFrom: (row.lookback_from as string | null) ?? null,
    patients: (row.patients as string[] | null) ?? null,
    state: row.state as PullRecord['state'],
    watermark: (row.watermark as string | null) ?? null,
  };
}
