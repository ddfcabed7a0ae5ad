import type { ExchangeMember } from '../../connectors/member-match/index.ts';
import type { ExchangeContext } from './context.ts';
import { expireRound, membersOf } from './exchange-store.ts';
import { pullMatchedGroups } from './group-pull.ts';
import { type MatchRound, matchRound } from './match-round.ts';
import { readMembers } from './member-input.ts';
import { isoDate, pullStopReason, submittable } from './submission.ts';
import { ExchangeGroupGoneError } from './errors.ts';

/**
 * One run of a bulk payer exchange: read and check the members, match them when needed
 * (`$bulk-member-match`, in batches: matchRound), then pull the matched Groups
 * (`$davinci-data-export`). Every member is matched again when the last round is older than
 * match.maxGroupAgeDays or the server no longer knows one of its Groups (404/410 at the pull);
 * a member new or whose row changed is matched in a batch of their own. Every member is sent
 * with their consent, which the prior payer evaluates; only members whose consent is in effect
 * today are pulled.
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
  const round = await matchRound(ctx, toSend, { fresh: false });
  if (round === undefined) {
    ctx.logger.warn({ event: 'exchange.no_members' }, 'the member input is empty: nothing to match');
    return;
  }
  let result = await pullMatchedGroups(ctx, round, excluded);
  if (result.state === 'gone') {
    ctx.logger.warn({ event: 'exchange.group_gone' }, `${result.reason}: matching the members again`);
    await expireRound(ctx.load.db, round.id, result.reason);
    // The same members as a moment ago, so not none: matching them again gives a round.
    const rematched = (await matchRound(ctx, toSend, { fresh: true })) as MatchRound;
    result = await pullMatchedGroups(ctx, rematched, excluded);
    if (result.state === 'gone') throw new ExchangeGroupGoneError(ctx.source.name, result.reason);
  }
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
