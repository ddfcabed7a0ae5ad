import { type BearerAuth, originOf } from '../../connectors/http/index.ts';
import {
  type ExchangeMember,
  memberMatch,
  memberMatchRequest,
  offersPatientExport,
  patientScopedToken,
} from '../../connectors/member-match/index.ts';
import { errorMessage } from '../../errors/index.ts';
import { searchMemberType } from '../members/member-search.ts';
import type { ExchangeContext } from './context.ts';
import { ExchangeMembersFailedError } from './errors.ts';
import {
  completePull,
  failPull,
  type MemberDecision,
  type MemberRecord,
  membersOf,
  type PullRecord,
  recordMatchOutcomes,
  recordMatchStarted,
  runningPull,
  startPull,
  stopPulls,
} from './exchange-store.ts';
import { runPullExport } from './pull-export.ts';
import { lookbackStart } from './lookback.ts';
import { readMembers } from './member-input.ts';
import { consentInEffect, isoDate, pullStopReason, submittable, type Submittable } from './submission.ts';

/**
 * One run of a single-member payer exchange, for prior payers without the bulk operation: each
 * member is matched with `$member-match` (again when their row changed or the last match is
 * older than match.maxGroupAgeDays), and a matched member whose consent is in effect is read
 * with a token scoped to them: `Patient/$export` when the server offers it (lookback first,
 * `_since` after), else searches per resource type (incremental, as the REST connector reads).
 * Members are taken one at a time; one that fails does not stop the others, and the run fails
 * listing them.
 *
 * @see Da Vinci PDex 2.2.0 payertopayerexchange.md
 */
export async function runSingleExchange(ctx: ExchangeContext): Promise<void> {
  const members = await readMembers(ctx.load.db, ctx.source);
  const today = isoDate(ctx.now());
  const known = await membersOf(ctx.load.db, ctx.source.name);
  const byId = new Map(members.map((m) => [m.memberId, m]));
  const stopped = [...known.keys()].flatMap((memberId) => {
    const reason = pullStopReason(byId.get(memberId), today);
    return reason === undefined ? [] : [{ memberId, reason }];
  });
  await stopPulls(ctx.load.db, ctx.source.name, stopped);
  const pullMethod = pullMethodOf(ctx);
  const failures: Array<{ memberId: string; error: string }> = [];
  for (const member of await resumedFirst(ctx, members)) {
    ctx.signal?.throwIfAborted();
    try {
      const row = await matchedMember(ctx, submittable(ctx.source, member), known.get(member.memberId));
      const pullable =
        row?.outcome === 'matched' && row.oldPatientId !== null && consentInEffect(member, today);
      if (pullable) await pullMember(ctx, row, await pullMethod());
    } catch (error) {
      if (ctx.signal?.aborted) throw error;
      failures.push({ memberId: member.memberId, error: errorMessage(error) });
    }
  }
  if (failures.length > 0) throw new ExchangeMembersFailedError(ctx.source.name, failures);
}

/** A member whose pull a crashed run left running goes first, so its export is resumed, not abandoned. */
async function resumedFirst(ctx: ExchangeContext, members: ExchangeMember[]): Promise<ExchangeMember[]> {
  const running = new Set<string>();
  for (const member of members) {
    if (await runningPull(ctx.load.db, ctx.source.name, { memberId: member.memberId }))
      running.add(member.memberId);
  }
  return [...members].sort((a, b) => Number(running.has(b.memberId)) - Number(running.has(a.memberId)));
}

/** The member's match: the recorded one while still current, else a new `$member-match`. */
async function matchedMember(
  ctx: ExchangeContext,
  member: Submittable,
  row: MemberRecord | undefined,
): Promise<MemberRecord | undefined> {
  const ageDays = row?.matchedAt ? (ctx.now() - row.matchedAt.getTime()) / 86_400_000 : Infinity;
  if (row && row.submission === member.digest && ageDays < ctx.source.match.maxGroupAgeDays) return row;
  const at = new Date(ctx.now());
  const result = await memberMatch(ctx.client, memberMatchRequest(ctx.source.baseUrl, member.parts), {
    ...(ctx.auth ? { auth: ctx.auth } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  const matchId = await recordMatchStarted(
    ctx.load.db,
    { source: ctx.source.name, mode: 'single', submitted: 1, submission: member.digest, runId: ctx.run.id },
    at,
  );
  const decision: MemberDecision = {
    memberId: member.member.memberId,
    submittedId: member.submittedId,
    submission: member.digest,
    outcome: result.state,
    consent: member.member.consent,
    ...(result.state === 'matched'
      ? {
          ...(result.memberId === undefined
            ? { reason: 'matched, but the answer has no MemberId to pull with' }
            : {}),
          ...(result.memberId === undefined ? {} : { oldPatientId: result.memberId }),
          oldMemberId: result.memberIdentifier?.value ?? member.member.oldMemberId,
        }
      : {
          ...(result.reason === undefined ? {} : { reason: result.reason }),
          oldMemberId: member.member.oldMemberId,
        }),
  };
  await recordMatchOutcomes(ctx.load.db, ctx.source.name, matchId, [decision], at);
  ctx.logger.info(
    { event: 'exchange.member_matched', matchId, outcome: result.state },
    `member match ${matchId}: ${result.state}${decision.reason ? ` (${decision.reason})` : ''}`,
  );
  return (await membersOf(ctx.load.db, ctx.source.name)).get(member.member.memberId);
}

/** Whether this run pulls with Patient/$export or searches; `auto` asks the CapabilityStatement once. */
function pullMethodOf(ctx: ExchangeContext): () => Promise<'export' | 'search'> {
  let decided: Promise<'export' | 'search'> | undefined;
  return () => {
    const configured = ctx.source.single.pull;
    if (configured !== 'auto') return Promise.resolve(configured);
    decided ??= offersPatientExport(ctx.client, ctx.source.baseUrl, {
      ...(ctx.auth ? { auth: ctx.auth } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    }).then((offered) => (offered ? 'export' : 'search'));
    return decided;
  };
}

/** Reads one matched member's data with a token scoped to them. */
async function pullMember(
  ctx: ExchangeContext,
  row: MemberRecord,
  method: 'export' | 'search',
): Promise<void> {
  const patientId = row.oldPatientId as string;
  const provider = patientScopedToken(
    ctx.source.auth,
    ctx.source.baseUrl,
    { patientId, scope: ctx.source.single.scope, patientParameter: ctx.source.single.patientParameter },
    { http: ctx.client, now: ctx.now },
  );
  const auth: BearerAuth | undefined = provider && {
    provider,
    allowedOrigins: ctx.auth?.allowedOrigins ?? [originOf(ctx.source.baseUrl)],
  };
  const pull = await memberPull(ctx, row, patientId);
  try {
    const watermark =
      method === 'export'
        ? (await runPullExport(ctx, pull, { level: 'patient' }, auth)).watermark
        : await searchMember(ctx, row, auth);
    await completePull(ctx.load.db, ctx.source.name, pull, {
      watermark,
      memberIds: [row.memberId],
      at: new Date(ctx.now()),
    });
  } catch (error) {
    await failPull(ctx.load.db, pull.id, errorMessage(error));
    throw error;
  }
}

/** The member's running pull (resumed with its parameters), else a new one. */
async function memberPull(ctx: ExchangeContext, row: MemberRecord, patientId: string): Promise<PullRecord> {
  const running = await runningPull(ctx.load.db, ctx.source.name, { memberId: row.memberId });
  if (running) return running;
  const first = ctx.fullRefresh || row.firstPullAt === null || row.watermark === null;
  return startPull(ctx.load.db, {
    source: ctx.source.name,
    groupId: null,
    memberId: row.memberId,
    kind: first ? 'lookback' : 'since',
    since: first ? null : row.watermark,
    lookbackFrom: first ? lookbackStart(ctx.now(), ctx.source.export.lookbackYears) : null,
    patients: [`Patient/${patientId}`],
    runId: ctx.run.id,
  });
}

/**
 * Searches of every configured type, each incremental on its own cursor (fhir_etl.checkpoints),
 * paged and resumable as the REST connector reads. A type the server refuses is skipped.
 * Returns the pull's instant (searches keep their own cursors).
 */
async function searchMember(
  ctx: ExchangeContext,
  row: MemberRecord,
  auth: BearerAuth | undefined,
): Promise<string> {
  if (!auth) throw new Error('searches need a member-scoped token: configure auth');
  for (const resourceType of ctx.source.single.resources) {
    const outcome = await searchMemberType({
      load: ctx.load,
      run: ctx.run,
      http: ctx.client,
      auth,
      source: { name: ctx.source.name, baseUrl: ctx.source.baseUrl, pageSize: ctx.source.single.pageSize },
      patientId: row.oldPatientId as string,
      resourceType,
      fullRefresh: ctx.fullRefresh,
      ...(ctx.progress ? { progress: ctx.progress } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      logger: ctx.logger,
    });
    if (outcome.status === 'refused')
      ctx.logger.warn(
        { event: 'exchange.type_refused', resourceType },
        `${resourceType} skipped: ${outcome.reason}`,
      );
  }
  return new Date(ctx.now()).toISOString();
}
