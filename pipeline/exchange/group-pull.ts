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
  runningPull,
  startPull,
  stopPulls,
  supersedeRunningPulls,
} from './exchange-store.ts';
import { runPullExport } from './pull-export.ts';
import { lookbackStart } from './lookback.ts';

/** What pulling a match's Groups came to. `gone`: the server no longer knows a Group (404/410): match again. */
export type GroupPullResult = { state: 'pulled'; pulls: number } | { state: 'gone'; reason: string };

/**
 * Pulls the members a match put in MatchedMembers Groups with `$davinci-data-export`
 * (#payertopayer): the first pull of a member asks for the lookback window (`_typeFilter` by
 * date of service, no `_since`), later pulls for what changed since the last one (`_since`).
 * Members who may not be pulled any more (consent ended, gone from the member input) are left
 * out with `patient=`, and recorded as stopped; a Group none of whose members may be pulled is
 * not asked for at all. A pull a crashed run left running is resumed with its own parameters.
 *
 * @see Da Vinci PDex 2.2.0 payertopayerbulkexchange.md (DaVinci-Data-Export Operation, _since)
 */
export async function pullMatchedGroups(
  ctx: ExchangeContext,
  matchId: number,
  excluded: ReadonlyMap<string, string>,
): Promise<GroupPullResult> {
  const members = [...(await membersOf(ctx.load.db, ctx.source.name)).values()].filter(
    (m) => m.matchId === matchId && m.outcome === 'matched' && m.groupId !== null && m.oldPatientId !== null,
  );
  const groups = new Map<string, MemberRecord[]>();
  for (const m of members) groups.set(m.groupId as string, [...(groups.get(m.groupId as string) ?? []), m]);
  if (groups.size === 0)
    ctx.logger.info({ event: 'exchange.nothing_to_pull' }, 'no member was matched: nothing to pull');
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
    const pull = await pullFor(ctx, groupId, inGroup, pullable);
    const result = await exportGroup(ctx, groupId, pull, pullable);
    if (result !== undefined) return { state: 'gone', reason: result };
    pulls++;
  }
  return { state: 'pulled', pulls };
}

/**
 * The pull to run for a Group: the one a crashed run left running when it asked for the same
 * members, else a new one (a lookback when any member has not had their first pull yet, else
 * `_since` the last Group pull's watermark).
 */
async function pullFor(
  ctx: ExchangeContext,
  groupId: string,
  inGroup: MemberRecord[],
  pullable: MemberRecord[],
): Promise<PullRecord> {
  const patients =
    pullable.length < inGroup.length ? pullable.map((m) => `Patient/${m.oldPatientId}`).sort() : null;
  const running = await runningPull(ctx.load.db, ctx.source.name, { groupId });
  if (running && JSON.stringify(running.patients) === JSON.stringify(patients)) {
    ctx.logger.info(
      { event: 'exchange.pull_resume', pullId: running.id },
      `resuming pull ${running.id} of Group ${groupId}`,
    );
    await supersedeRunningPulls(ctx.load.db, ctx.source.name, running.id);
    return running;
  }
  const watermark = await lastGroupWatermark(ctx.load.db, ctx.source.name);
  const first = ctx.fullRefresh || watermark === undefined || pullable.some((m) => m.firstPullAt === null);
  const pull = await startPull(ctx.load.db, {
    source: ctx.source.name,
    groupId,
    memberId: null,
    kind: first ? 'lookback' : 'since',
    since: first ? null : (watermark as string),
    lookbackFrom: first ? lookbackStart(ctx.now(), ctx.source.export.lookbackYears) : null,
    patients,
    runId: ctx.run.id,
  });
  await supersedeRunningPulls(ctx.load.db, ctx.source.name, pull.id);
  return pull;
}

/** Runs the pull's export; the reason when the Group is gone (404/410 at kick-off), else undefined. */
async function exportGroup(
  ctx: ExchangeContext,
  groupId: string,
  pull: PullRecord,
  pullable: MemberRecord[],
): Promise<string | undefined> {
  try {
    const outcome = await runPullExport(ctx, pull, { level: 'group', groupId }, ctx.auth);
    await completePull(ctx.load.db, ctx.source.name, pull, {
      watermark: outcome.watermark,
      memberIds: pullable.map((m) => m.memberId),
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
      await supersedeRunningPulls(ctx.load.db, ctx.source.name);
      return `Group ${groupId} is gone (${error.context.status as number})`;
    }
    throw error;
  }
}
