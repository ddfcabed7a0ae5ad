import type { Readable } from 'node:stream';
import {
  assertFileOrigins,
  awaitManifest,
  BulkExportNotFoundError,
  BulkExportTimeoutError,
  deleteExport,
  fileAuth,
  type Manifest,
  redactStatusUrl,
} from '../../connectors/bulk/index.ts';
import {
  bulkMemberMatchRequest,
  type MatchGroupsReader,
  matchGroupsReader,
  type MemberOutcome,
  startBulkMemberMatch,
} from '../../connectors/member-match/index.ts';
import { errorMessage } from '../../errors/index.ts';
import { readLines } from '../../transforms/index.ts';
import { downloadAndLoad } from '../bulk/download-file.ts';
import type { BulkFile } from '../bulk/export-store.ts';
import type { ExchangeContext } from './context.ts';
import {
  endMatch,
  type MatchRecord,
  type MemberDecision,
  recordMatchOutcomes,
  recordMatchStarted,
} from './exchange-store.ts';
import type { Submittable } from './submission.ts';

/** Where a batch goes: the round it continues (none: it starts one) and its place in it. */
export interface BatchPlace {
  round?: number;
  index: number;
}

/**
 * One `$bulk-member-match` (a batch of a round) from request to recorded outcomes, with the Bulk connector's steps:
 * the status URL is polled with awaitManifest (Retry-After, backoff, transient errors, the
 * timeout), the result files are fetched with downloadAndLoad (the token only where the
 * manifest requires it and only to allowed origins, a cut-off body fetched again, a 410 answered
 * with fresh URLs). A match left polling by a crashed run is resumed at its status URL, unless
 * the members to send changed since; a match the server forgot (404) is sent again.
 *
 * @see Da Vinci PDex 2.2.0 payertopayerbulkexchange.md; Bulk Data STU2 export.html
 */
export async function runBulkMatch(
  ctx: ExchangeContext,
  members: Submittable[],
  submission: string,
  place: BatchPlace,
  unfinished: MatchRecord | undefined,
): Promise<number> {
  if (unfinished?.state === 'polling' && unfinished.statusUrl !== null) {
    if (unfinished.submission === submission) {
      ctx.logger.info(
        { event: 'exchange.match_resume', matchId: unfinished.id },
        `resuming member match ${unfinished.id} instead of sending the members again`,
      );
      try {
        return await finishMatch(ctx, members, unfinished.id, unfinished.statusUrl);
      } catch (error) {
        if (!(error instanceof BulkExportNotFoundError)) throw error;
        await endMatch(ctx.load.db, unfinished.id, 'expired', errorMessage(error));
        ctx.logger.warn({ event: 'exchange.match_expired' }, `${errorMessage(error)}; matching again`);
      }
    } else {
      await supersedeMatch(ctx, unfinished, `the members changed before run ${ctx.run.id}`);
    }
  }
  return startMatch(ctx, members, submission, place);
}

/** A match left polling that will not be resumed: recorded as superseded, and the server told (DELETE). */
export async function supersedeMatch(ctx: ExchangeContext, match: MatchRecord, why: string): Promise<void> {
  await endMatch(ctx.load.db, match.id, 'superseded', why);
  if (match.statusUrl !== null) await deleteQuietly(ctx, match.statusUrl);
}

async function startMatch(
  ctx: ExchangeContext,
  members: Submittable[],
  submission: string,
  place: BatchPlace,
): Promise<number> {
  ctx.signal?.throwIfAborted();
  const request = bulkMemberMatchRequest(
    ctx.source.baseUrl,
    members.map((m) => ({ name: 'MemberBundle', part: m.parts })),
  );
  const started = await startBulkMemberMatch(ctx.client, request, { auth: ctx.auth, signal: ctx.signal });
  const matchId = await recordMatchStarted(
    ctx.load.db,
    {
      source: ctx.source.name,
      mode: 'bulk',
      ...(started.state === 'accepted' ? { statusUrl: started.statusUrl } : {}),
      submitted: members.length,
      submission,
      runId: ctx.run.id,
      batch: place,
    },
    new Date(ctx.now()),
  );
  ctx.logger.info(
    { event: 'exchange.match_sent', matchId, batch: place.index, members: members.length },
    `member match ${matchId} (batch ${place.index}): ${members.length} members sent`,
  );
  if (started.state === 'answered') {
    await recordOutcomes(ctx, members, matchId, started.groups.outcomes());
    return matchId;
  }
  return finishMatch(ctx, members, matchId, started.statusUrl);
}

/** Polls the match, reads its Groups and records every member's outcome. */
async function finishMatch(
  ctx: ExchangeContext,
  members: Submittable[],
  matchId: number,
  statusUrl: string,
): Promise<number> {
  let manifest: Manifest;
  try {
    manifest = await waitForResult(ctx, statusUrl, ctx.now() + ctx.source.match.timeoutMinutes * 60_000);
  } catch (error) {
    if (error instanceof BulkExportTimeoutError) {
      await endMatch(ctx.load.db, matchId, 'failed', errorMessage(error));
      await deleteQuietly(ctx, statusUrl);
    }
    throw error;
  }
  const groups = await readGroups(ctx, statusUrl, manifest);
  await recordOutcomes(ctx, members, matchId, groups);
  await deleteQuietly(ctx, statusUrl);
  return matchId;
}

function waitForResult(
  ctx: ExchangeContext,
  statusUrl: string,
  deadline: number | undefined,
): Promise<Manifest> {
  return awaitManifest(ctx.client, statusUrl, {
    auth: ctx.auth,
    signal: ctx.signal,
    maxPollIntervalMs: ctx.source.match.maxPollIntervalSeconds * 1000,
    ...(deadline === undefined ? {} : { deadline }),
    timeoutMinutes: ctx.source.match.timeoutMinutes,
    logger: ctx.logger,
    ...(ctx.sleep ? { sleep: ctx.sleep } : {}),
    now: ctx.now,
  });
}

/** Every result file, line by line, into one reader. */
async function readGroups(
  ctx: ExchangeContext,
  statusUrl: string,
  manifest: Manifest,
): Promise<MemberOutcome[]> {
  const auth = fileAuth(manifest, ctx.auth);
  assertFileOrigins(manifest.output, auth);
  const urls = new Map(manifest.output.map((file, index) => [index, file.url]));
  const outcomes: MemberOutcome[] = [];
  for (const [index, file] of manifest.output.entries()) {
    const bulkFile: BulkFile = {
      exportId: 0,
      kind: 'output',
      resourceType: file.type,
      index,
      url: file.url,
      committed: false,
      fileKey: `match:${index}`,
    };
    // Each attempt reads into a reader of its own: a body cut off part way adds nothing.
    const read = await downloadAndLoad(
      bulkFile,
      {
        client: ctx.client,
        auth,
        logger: ctx.logger,
        urlOf: () => urls.get(index) as string,
        refreshUrls: async () => {
          const fresh = await waitForResult(ctx, statusUrl, undefined);
          fresh.output.forEach((f, i) => urls.set(i, f.url));
        },
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      },
      (stream, url) => readFile(ctx, stream, url),
    );
    outcomes.push(...read.outcomes());
  }
  return outcomes;
}

async function readFile(ctx: ExchangeContext, stream: Readable, url: string): Promise<MatchGroupsReader> {
  const reader = matchGroupsReader();
  let line = 0;
  for await (const text of readLines(stream, { maxLineBytes: ctx.load.maxLineBytes })) {
    line++;
    reader.addLine(text, { file: redactStatusUrl(url), line });
  }
  return reader;
}

/**
 * Finds each submitted member in the outcomes: by the submitted Patient's id (kept verbatim by
 * PDex), else by name and birth date when only one submitted member has them. A member the
 * server reported nowhere counts as not matched, saying so.
 */
async function recordOutcomes(
  ctx: ExchangeContext,
  members: Submittable[],
  matchId: number,
  outcomes: MemberOutcome[],
): Promise<void> {
  const byId = new Map(members.map((m) => [m.submittedId, m]));
  const decided = new Map<string, MemberDecision>();
  let unknown = 0;
  for (const outcome of outcomes) {
    const member =
      (outcome.submitted.id && byId.get(outcome.submitted.id)) || byDemographics(members, outcome);
    if (!member) {
      unknown++;
      continue;
    }
    decided.set(member.member.memberId, decision(member, outcome));
  }
  for (const member of members) {
    if (decided.has(member.member.memberId)) continue;
    decided.set(member.member.memberId, {
      ...decision(member, { outcome: 'not-matched', submitted: {} }),
      reason: 'the prior payer reported this member in none of its result Groups',
    });
  }
  if (unknown > 0)
    ctx.logger.warn(
      { event: 'exchange.unknown_members', unknown },
      `${unknown} member(s) in the match result were not among those sent; ignored`,
    );
  await recordMatchOutcomes(
    ctx.load.db,
    ctx.source.name,
    matchId,
    [...decided.values()],
    new Date(ctx.now()),
  );
  const counts = [...decided.values()].reduce<Record<string, number>>((c, d) => {
    c[d.outcome] = (c[d.outcome] ?? 0) + 1;
    return c;
  }, {});
  ctx.logger.info(
    { event: 'exchange.matched', matchId, ...counts },
    `member match ${matchId}: ${counts.matched ?? 0} matched, ${counts['not-matched'] ?? 0} not matched, ` +
      `${counts['consent-constrained'] ?? 0} consent-constrained`,
  );
}

function decision(member: Submittable, outcome: MemberOutcome): MemberDecision {
  return {
    memberId: member.member.memberId,
    submittedId: member.submittedId,
    submission: member.digest,
    outcome: outcome.outcome,
    ...(outcome.groupId === undefined ? {} : { groupId: outcome.groupId }),
    ...(outcome.oldPatientId === undefined ? {} : { oldPatientId: outcome.oldPatientId }),
    oldMemberId: member.member.oldMemberId,
    consent: member.member.consent,
  };
}

function byDemographics(members: Submittable[], outcome: MemberOutcome): Submittable | undefined {
  const { family, birthDate, given } = outcome.submitted;
  if (family === undefined || birthDate === undefined) return undefined;
  const candidates = members.filter(
    (m) =>
      m.member.family.toLowerCase() === family.toLowerCase() &&
      m.member.birthDate === birthDate &&
      (given === undefined || m.member.given[0]?.toLowerCase() === given[0]?.toLowerCase()),
  );
  return candidates.length === 1 ? candidates[0] : undefined;
}

async function deleteQuietly(ctx: ExchangeContext, statusUrl: string): Promise<void> {
  try {
    await deleteExport(ctx.client, statusUrl, { auth: ctx.auth });
  } catch (error) {
    ctx.logger.info(
      { event: 'exchange.match_delete_failed', statusUrl: redactStatusUrl(statusUrl) },
      `DELETE ${redactStatusUrl(statusUrl)} failed: ${errorMessage(error)}`,
    );
  }
}
