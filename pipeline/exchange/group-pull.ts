import { BulkKickOffError } from '../../connectors/bulk/index.ts';
import { errorMessage } from '../../errors/index.ts';
import type { ExchangeContext } from './context.ts';
import {
  completePull,
  failPull,
  lastGroupWatermark,
  type MemberRecord,
  membersOf,
  type PullRecord,
  roundBatches,
  runningGroupPulls,
  startPull,
  stopPulls,
  supersedeRunningPulls,
} from './exchange-store.ts';
import { lookbackStart } from './lookback.ts';
import type { MatchRound } from './match-round.ts';
import { runPullExport } from './pull-export.ts';

/** What pulling a round's Groups came to. `gone`: the server no longer knows a Group (404/410): match again. */
export type GroupPullResult = { state: 'pulled'; pulls: number } | { state: 'gone'; reason: string };

/** One export to run for a Group: a lookback or `_since` pull, of the whole Group or of some of its members. */
interface PlannedPull {
  kind: 'lookback' | 'since';
  since: string | null;
  members: MemberRecord[];
  /** Old-payer Patient references (`patient=`); null: the whole Group. */
  patients: string[] | null;
}

/**
 * Pulls the members a round's batches put in MatchedMembers Groups with `$davinci-data-export`
 * (#payertopayer). Each member is pulled from their own watermark: a member never pulled gets
 * the lookback window (`_typeFilter` by date of service, no `_since`), one pulled before what
 * changed since their last pull (`_since`). A Group holding both is pulled twice, each export
 * naming its members with `patient=`, so a member newly matched into a Group gets their whole
 * history while the others get only the delta. Members who may not be pulled any more (consent
 * ended, gone from the member input) are left out with `patient=`, and recorded as stopped; a
 * Group none of whose members may be pulled is not asked for at all. A pull a crashed run left
 * running is resumed with its own parameters.
 *
 * @see Da Vinci PDex 2.2.0 payertopayerbulkexchange.md (DaVinci-Data-Export Operation, _since)
 */
export async function pullMatchedGroups(
  ctx: ExchangeContext,
  round: MatchRound,
  excluded: ReadonlyMap<string, string>,
): Promise<GroupPullResult> {
  const members = [...(await membersOf(ctx.load.db, ctx.source.name)).values()].filter(
    (m) =>
      m.matchId !== null &&
      round.completed.has(m.matchId) &&
      m.outcome === 'matched' &&
      m.groupId !== null &&
      m.oldPatientId !== null,
  );
  const groups = new Map<string, MemberRecord[]>();
  for (const m of members) groups.set(m.groupId as string, [...(groups.get(m.groupId as string) ?? []), m]);
  await supersedeRunningPulls(ctx.load.db, ctx.source.name, { notInGroups: [...groups.keys()] });
  if (groups.size === 0)
    ctx.logger.info({ event: 'exchange.nothing_to_pull' }, 'no member was matched: nothing to pull');
  const shrunk = await batchesThatLostMembers(ctx, round, members);
  const fallback = await lastGroupWatermark(ctx.load.db, ctx.source.name);
  let pulls = 0;
  for (const [groupId, inGroup] of groups) {
    const pullable = inGroup.filter((m) => !excluded.has(m.memberId));
    const stopped = inGroup
      .filter((m) => excluded.has(m.memberId))
      .map((m) => ({ memberId: m.memberId, reason: excluded.get(m.memberId) as string }));
    await stopPulls(ctx.load.db, ctx.source.name, stopped);
    if (pullable.length === 0) {
      ctx.logger.warn(
        { event: 'exchange.group_skipped', groupId },
        `Group ${groupId}: no member may be pulled any more (${stopped.length} stopped); not exported`,
      );
      continue;
    }
    const whole = pullable.length === inGroup.length && !inGroup.some((m) => shrunk.has(m.matchId as number));
    const planned = planPulls(ctx, pullable, whole, fallback);
    const records = await pullRecordsFor(ctx, groupId, planned);
    for (const [index, pull] of records.entries()) {
      const gone = await exportGroup(ctx, groupId, pull, (planned[index] as PlannedPull).members);
      if (gone !== undefined) return { state: 'gone', reason: gone };
      pulls++;
    }
  }
  return { state: 'pulled', pulls };
}

/**
 * The Group's exports: `_since` for the members pulled before (from the oldest of their
 * watermarks, so none misses a change; what comes twice replaces itself), and a lookback for
 * those never pulled. `--full-refresh`: one lookback for all.
 */
function planPulls(
  ctx: ExchangeContext,
  pullable: MemberRecord[],
  whole: boolean,
  fallback: string | undefined,
): PlannedPull[] {
  const sinceOf = (m: MemberRecord) => (m.firstPullAt === null ? undefined : (m.watermark ?? fallback));
  const pulled = ctx.fullRefresh ? [] : pullable.filter((m) => sinceOf(m) !== undefined);
  const fresh = pullable.filter((m) => !pulled.includes(m));
  const patients = (some: MemberRecord[]) =>
    whole && some.length === pullable.length ? null : some.map((m) => `Patient/${m.oldPatientId}`).sort();
  const planned: PlannedPull[] = [];
  if (pulled.length > 0) {
    const since = pulled.map((m) => sinceOf(m) as string).sort((a, b) => Date.parse(a) - Date.parse(b))[0];
    planned.push({ kind: 'since', since: since as string, members: pulled, patients: patients(pulled) });
  }
  if (fresh.length > 0)
    planned.push({ kind: 'lookback', since: null, members: fresh, patients: patients(fresh) });
  return planned;
}

/**
 * The pull records of a Group's planned exports: the one a crashed run left running for the same
 * kind and members is resumed (with its own `_since` or lookback date), else a new one is
 * started; the Group's other running pulls are superseded.
 */
async function pullRecordsFor(
  ctx: ExchangeContext,
  groupId: string,
  planned: PlannedPull[],
): Promise<PullRecord[]> {
  const running = await runningGroupPulls(ctx.load.db, ctx.source.name, groupId);
  const records: PullRecord[] = [];
  for (const plan of planned) {
    const resumed = running.find(
      (r) =>
        r.kind === plan.kind &&
        JSON.stringify(r.patients) === JSON.stringify(plan.patients) &&
        !records.includes(r),
    );
    if (resumed) {
      ctx.logger.info(
        { event: 'exchange.pull_resume', pullId: resumed.id },
        `resuming pull ${resumed.id} of Group ${groupId}`,
      );
      records.push(resumed);
      continue;
    }
    records.push(
      await startPull(ctx.load.db, {
        source: ctx.source.name,
        groupId,
        memberId: null,
        kind: plan.kind,
        since: plan.since,
        lookbackFrom:
          plan.kind === 'lookback' ? lookbackStart(ctx.now(), ctx.source.export.lookbackYears) : null,
        patients: plan.patients,
        runId: ctx.run.id,
      }),
    );
  }
  await supersedeRunningPulls(ctx.load.db, ctx.source.name, { groupId, keep: records.map((r) => r.id) });
  return records;
}

/**
 * Batches some of whose matched members have since moved on (matched again in a later batch,
 * their row having changed): the server's Group still holds them, so its pulls name members.
 */
async function batchesThatLostMembers(
  ctx: ExchangeContext,
  round: MatchRound,
  members: MemberRecord[],
): Promise<Set<number>> {
  const still = new Map<number, number>();
  for (const m of members) still.set(m.matchId as number, (still.get(m.matchId as number) ?? 0) + 1);
  const batches = await roundBatches(ctx.load.db, round.id);
  return new Set(
    batches
      .filter((b) => round.completed.has(b.id) && (still.get(b.id) ?? 0) < (b.matched ?? 0))
      .map((b) => b.id),
  );
}

/** Runs the pull's export; the reason when the Group is gone (404/410 at kick-off), else undefined. */
async function exportGroup(
  ctx: ExchangeContext,
  groupId: string,
  pull: PullRecord,
  members: MemberRecord[],
): Promise<string | undefined> {
  try {
    const outcome = await runPullExport(ctx, pull, { level: 'group', groupId }, ctx.auth);
    await completePull(ctx.load.db, ctx.source.name, pull, {
      watermark: outcome.watermark,
      memberIds: members.map((m) => m.memberId),
      at: new Date(ctx.now()),
    });
    ctx.logger.info(
      { event: 'exchange.pulled', pullId: pull.id, groupId, kind: pull.kind, exportId: outcome.exportId },
      `Group ${groupId}: ${pull.kind === 'lookback' ? `lookback pull from ${pull.lookbackFrom}` : `pull since ${pull.since}`}, ` +
        `${outcome.filesLoaded} of ${outcome.files} files loaded, next _since ${outcome.watermark}`,
    );
    return undefined;
  } catch (error) {
    await failPull(ctx.load.db, pull.id, errorMessage(error));
    if (error instanceof BulkKickOffError && [404, 410].includes(error.context.status as number)) {
      await supersedeRunningPulls(ctx.load.db, ctx.source.name, { notInGroups: [] });
      return `Group ${groupId} is gone (${error.context.status as number})`;
    }
    throw error;
  }
}
