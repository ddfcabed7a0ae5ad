import type { ExchangeMember } from '../../connectors/member-match/index.ts';
import { runBulkMatch } from './bulk-match.ts';
import type { ExchangeContext } from './context.ts';
import { endMatch, latestBulkMatch, membersOf } from './exchange-store.ts';
import { pullMatchedGroups } from './group-pull.ts';
import { readMembers } from './member-input.ts';
import { isoDate, pullStopReason, submissionDigest, submittable, type Submittable } from './submission.ts';
import { ExchangeGroupGoneError } from './errors.ts';

/**
 * One run of a bulk payer exchange: read and check the members, match them when needed
 * (`$bulk-member-match`), then pull the matched Groups (`$davinci-data-export`). Members are
 * matched again when the last match is older than match.maxGroupAgeDays, when a member to send
 * is new or their row changed, or when the server no longer knows the Group (404/410 at the
 * pull). Every member is sent with their consent, which the prior payer evaluates; only members
 * whose consent is in effect today are pulled.
 *
 * @see Da Vinci PDex 2.2.0 payertopayerbulkexchange.md; provider-access-api-v2.md (§pdex-264/267: re-match)
 */
export async function runBulkExchange(ctx: ExchangeContext): Promise<void> {
  const members = await readMembers(ctx.load.db, ctx.source);
  const today = isoDate(ctx.now());
  // Every member is sent: the consent is the prior payer's to evaluate (PDex). Pulls are ours to
  // stop: a member whose consent is not in effect today is never pulled, whatever the Group says.
  const toSend = members.map((m) => submittable(ctx.source, m));
  const excluded = await excludedMembers(ctx, members, today);
  let matchId = await currentMatch(ctx, toSend);
  if (matchId === undefined) {
    ctx.logger.warn({ event: 'exchange.no_members' }, 'the member input is empty: nothing to match');
    return;
  }
  let result = await pullMatchedGroups(ctx, matchId, excluded);
  if (result.state === 'gone') {
    ctx.logger.warn({ event: 'exchange.group_gone' }, `${result.reason}: matching the members again`);
    await endMatch(ctx.load.db, matchId, 'expired', result.reason);
    matchId = await runBulkMatch(ctx, toSend, submissionDigest(toSend), undefined);
    result = await pullMatchedGroups(ctx, matchId, excluded);
    if (result.state === 'gone') throw new ExchangeGroupGoneError(ctx.source.name, result.reason);
  }
}

/**
 * The match whose Groups this run pulls: a match left polling is finished first; the last
 * completed one while it is younger than maxGroupAgeDays and every member to send was sent in
 * it unchanged; otherwise a new match. Members left out since (consent ended, removed) do not
 * call for a new match: the pull leaves them out.
 */
async function currentMatch(ctx: ExchangeContext, toSend: Submittable[]): Promise<number | undefined> {
  const latest = await latestBulkMatch(ctx.load.db, ctx.source.name);
  const submission = submissionDigest(toSend);
  if (toSend.length === 0) return latest?.state === 'completed' ? latest.id : undefined;
  if (latest?.state === 'polling') return runBulkMatch(ctx, toSend, submission, latest);
  const why = await rematchReason(ctx, latest, toSend);
  if (why === undefined) return latest?.id;
  ctx.logger.info(
    { event: 'exchange.match_needed', reason: why },
    `matching ${toSend.length} members: ${why}`,
  );
  return runBulkMatch(ctx, toSend, submission, undefined);
}

async function rematchReason(
  ctx: ExchangeContext,
  latest: Awaited<ReturnType<typeof latestBulkMatch>>,
  toSend: Submittable[],
): Promise<string | undefined> {
  if (latest?.state !== 'completed' || latest.completedAt === null) return 'no completed match yet';
  const ageDays = (ctx.now() - latest.completedAt.getTime()) / 86_400_000;
  if (ageDays >= ctx.source.match.maxGroupAgeDays)
    return `the last match is ${Math.floor(ageDays)} days old (match.maxGroupAgeDays ${ctx.source.match.maxGroupAgeDays})`;
  const known = await membersOf(ctx.load.db, ctx.source.name);
  const changed = toSend.filter((s) => {
    const row = known.get(s.member.memberId);
    return row === undefined || row.matchId !== latest.id || row.submission !== s.digest;
  });
  if (changed.length > 0) return `${changed.length} member(s) new or changed since match ${latest.id}`;
  return undefined;
}

/** Members (in the input, or matched before) who may not be pulled today, and why. */
async function excludedMembers(
  ctx: ExchangeContext,
  members: ExchangeMember[],
  today: string,
): Promise<Map<string, string>> {
  const byId = new Map(members.map((m) => [m.memberId, m]));
  const excluded = new Map<string, string>();
  const known = (await membersOf(ctx.load.db, ctx.source.name)).keys();
  for (const memberId of new Set([...byId.keys(), ...known])) {
    const reason = pullStopReason(byId.get(memberId), today);
    if (reason !== undefined) excluded.set(memberId, reason);
  }
  return excluded;
}
