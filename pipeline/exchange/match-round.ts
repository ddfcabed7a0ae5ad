import { runBulkMatch, supersedeMatch } from './bulk-match.ts';
import type { ExchangeContext } from './context.ts';
import { latestBulkMatch, type MatchRecord, membersOf, roundBatches } from './exchange-store.ts';
import { submissionDigest, type Submittable } from './submission.ts';

/** A round: the batches that matched the member list once, and which of them hold outcomes. */
export interface MatchRound {
  id: number;
  /** The completed batches' ids: their members' Groups are what the round pulls. */
  completed: ReadonlySet<number>;
}

/**
 * Matches the members in bounded batches (`match.batchSize` per `$bulk-member-match`), each
 * batch's outcomes recorded as it completes. The latest round goes on while it is younger than
 * `match.maxGroupAgeDays` (from its oldest completed batch): only members no batch of it has
 * answered, or whose row changed since, are sent, so a run stopped between batches sends none of
 * the members already answered, and a member added to the list is matched alone rather than with
 * everyone. A batch left polling is resumed at its status URL when it is the next batch to send
 * unchanged. `fresh` starts a new round whatever the latest one (its Groups are gone).
 *
 * @see Da Vinci PDex 2.2.0 payertopayerbulkexchange.md (Bulk Member Match; matched Groups are short-lived)
 */
export async function matchRound(
  ctx: ExchangeContext,
  toSend: Submittable[],
  options: { fresh: boolean },
): Promise<MatchRound | undefined> {
  const latest = await latestBulkMatch(ctx.load.db, ctx.source.name);
  const current = options.fresh ? undefined : await roundToContinue(ctx, latest);
  if (toSend.length === 0) return current?.round.completed.size ? current.round : undefined;
  const remaining = current ? await unanswered(ctx, current.round, toSend) : toSend;
  let unfinished =
    latest?.state === 'polling' && current !== undefined && latest.round === current.round.id
      ? latest
      : undefined;
  if (latest?.state === 'polling' && (unfinished === undefined || remaining.length === 0)) {
    await supersedeMatch(ctx, latest, `not the next batch to send in run ${ctx.run.id}`);
    unfinished = undefined;
  }
  if (remaining.length === 0 && current) return current.round;
  const batches = chunks(remaining, ctx.source.match.batchSize);
  const why = current
    ? `${remaining.length} member(s) not answered in round ${current.round.id} yet (new, changed, or a stopped run's)`
    : ((await newRoundReason(ctx, latest, options.fresh)) ?? 'no match yet');
  ctx.logger.info(
    { event: 'exchange.match_needed', reason: why, members: remaining.length, batches: batches.length },
    `matching ${remaining.length} members in ${batches.length} batch(es) of at most ${ctx.source.match.batchSize}: ${why}`,
  );
  let round = current?.round.id;
  let next = current?.lastBatch ?? 0;
  const completed = new Set(current?.round.completed ?? []);
  for (const batch of batches) {
    // The batch a stopped run left polling keeps its place; a new one comes after the last.
    const index = unfinished?.batch ?? ++next;
    const id = await runBulkMatch(ctx, batch, submissionDigest(batch), { round, index }, unfinished);
    unfinished = undefined;
    round ??= id;
    completed.add(id);
  }
  return { id: round as number, completed };
}

/** The latest round, while it may go on: not expired and younger than match.maxGroupAgeDays. */
async function roundToContinue(
  ctx: ExchangeContext,
  latest: MatchRecord | undefined,
): Promise<{ round: MatchRound; lastBatch: number } | undefined> {
  if (latest?.round == null) return undefined;
  const batches = await roundBatches(ctx.load.db, latest.round);
  if (batches.some(groupsGone)) return undefined;
  if (roundAgeDays(ctx, batches) >= ctx.source.match.maxGroupAgeDays) return undefined;
  return {
    round: {
      id: latest.round,
      completed: new Set(batches.filter((b) => b.state === 'completed').map((b) => b.id)),
    },
    lastBatch: Math.max(0, ...batches.map((b) => b.batch ?? 0)),
  };
}

/** Why the latest round may not go on, to say so. */
async function newRoundReason(
  ctx: ExchangeContext,
  latest: MatchRecord | undefined,
  fresh: boolean,
): Promise<string | undefined> {
  if (fresh) return 'the prior payer no longer knows a Group of the last match';
  if (latest?.round == null) return undefined;
  const batches = await roundBatches(ctx.load.db, latest.round);
  if (batches.some(groupsGone)) return 'the Groups of the last match expired';
  const age = roundAgeDays(ctx, batches);
  return `the last match is ${Math.floor(age)} days old (match.maxGroupAgeDays ${ctx.source.match.maxGroupAgeDays})`;
}

/** A completed batch whose Groups the prior payer no longer knows (expireRound). */
function groupsGone(batch: MatchRecord): boolean {
  return batch.state === 'expired' && batch.completedAt !== null;
}

/** Days since the round's oldest completed batch (0 while none completed). */
function roundAgeDays(ctx: ExchangeContext, batches: MatchRecord[]): number {
  const completedAt = batches.flatMap((b) =>
    b.state === 'completed' && b.completedAt ? [b.completedAt.getTime()] : [],
  );
  return completedAt.length === 0 ? 0 : (ctx.now() - Math.min(...completedAt)) / 86_400_000;
}

/** The members to send that no completed batch of the round answered as they are now. */
async function unanswered(
  ctx: ExchangeContext,
  round: MatchRound,
  toSend: Submittable[],
): Promise<Submittable[]> {
  const known = await membersOf(ctx.load.db, ctx.source.name);
  return toSend.filter((s) => {
    const row = known.get(s.member.memberId);
    return !(row?.matchId != null && round.completed.has(row.matchId) && row.submission === s.digest);
  });
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
