import pLimit from 'p-limit';
import type { RestSourceConfig } from '../../config/index.ts';
import { type AuthorizationCodeClient, memberTokenProvider } from '../../connectors/auth/index.ts';
import { createHttpClient, type HttpClient } from '../../connectors/http/index.ts';
import { FhirEtlError } from '../../errors/index.ts';
import { memberTokenStore } from '../members/credential-store.ts';
import { loginClient } from '../members/login.ts';
import { searchMemberType } from '../members/member-search.ts';
import { listMembers, type MemberRecord } from '../members/members.ts';
import { loadSecretKey, type SecretKey } from '../members/secret-key.ts';
import { type RunRecorder, recordRun, type SourceRunResult } from '../run-recorder.ts';
import type { SourceRunContext } from './types.ts';

/**
 * A member-authorized FHIR REST source (1up Payer-to-Payer): for every member with a valid
 * login, every configured resource type is searched incrementally and loaded page by page
 * through the shared load path. Members are read concurrently (source.concurrency).
 *
 * A type the server refuses (403/404/400 with an OperationOutcome) is reported once and not
 * asked for again this run; it does not fail the run. A page that fails after retries does:
 * the other members finish, and the next run continues from the committed pages.
 */
export async function runRestSource(
  ctx: SourceRunContext,
  source: RestSourceConfig,
): Promise<SourceRunResult> {
  const warnings: string[] = [];
  const result = await recordRun(ctx.load.db, { command: 'run', source: source.name }, async (run) => {
    const members = await listMembers(ctx.load.db, source.name);
    const ready = members.filter((member) => !member.needsLogin);
    for (const member of members.filter((m) => m.needsLogin)) {
      warnings.push(
        `member ${describe(member)} skipped: needs \`fhir-etl auth login ${source.name}\` (${member.loginError ?? 'logged out'})`,
      );
    }
    if (ready.length === 0) throw new NoMembersError(source.name, members.length);
    const key = await loadSecretKey(ctx.config.secrets);
    const http = createHttpClient({ logger: ctx.logger });
    const client = await loginClient(source, http);
    const refused = new Map<string, string>();
    const limit = pLimit(source.concurrency);
    // Pages are not known up front: the progress counts them (and their bytes) as they commit.
    ctx.progress?.start(0, 0);
    const outcomes = await Promise.allSettled(
      ready.map((member) =>
        limit(() => readMember({ ctx, source, run, http, client, key, member, refused })),
      ),
    ).finally(() => ctx.progress?.stop());
    for (const [type, reason] of refused) warnings.push(`${type} skipped: the server refuses it (${reason})`);
    for (const warning of warnings) ctx.logger.warn({ event: 'rest.warning' }, warning);
    const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    if (failures.length > 0) throw new MemberReadsFailedError(source.name, failures);
  });
  return warnings.length === 0 ? result : { ...result, warnings };
}

interface MemberRead {
  ctx: SourceRunContext;
  source: RestSourceConfig;
  run: RunRecorder;
  http: HttpClient;
  client: AuthorizationCodeClient;
  key: SecretKey;
  member: MemberRecord;
  /** Types refused so far this run, shared by every member: each is asked for only until refused. */
  refused: Map<string, string>;
}

/** Every configured type of one member, one after the other, with the member's own token. */
async function readMember(read: MemberRead): Promise<void> {
  const { ctx, source, member } = read;
  const memberRef = { source: source.name, patientId: member.patientId };
  const provider = memberTokenProvider({
    client: read.client,
    store: memberTokenStore(ctx.load.db, read.key, memberRef, { logger: ctx.logger }),
    member: memberRef,
  });
  const auth = { provider, allowedOrigins: [new URL(source.baseUrl).origin] };
  for (const resourceType of source.resources) {
    if (read.refused.has(resourceType)) continue;
    const outcome = await searchMemberType({
      load: ctx.load,
      run: read.run,
      http: read.http,
      auth,
      source,
      patientId: member.patientId,
      resourceType,
      fullRefresh: ctx.request.fullRefresh,
      progress: ctx.progress,
      signal: ctx.signal,
      logger: ctx.logger,
    });
    if (outcome.status === 'refused') {
      if (!read.refused.has(resourceType)) read.refused.set(resourceType, outcome.reason);
      continue;
    }
    ctx.logger.info(
      { event: 'rest.searched', member: member.patientId, resourceType, ...outcome },
      `${resourceType} of ${member.patientId}: ${outcome.resources} resources in ${outcome.pages} pages`,
    );
  }
}

function describe(member: MemberRecord): string {
  return member.memberId ? `${member.memberId} (Patient/${member.patientId})` : member.patientId;
}

/** Nothing to read: no member has logged in (or every one must log in again). */
export class NoMembersError extends FhirEtlError {
  constructor(source: string, known: number) {
    super(
      known === 0
        ? `source ${source} has no member logins: run \`fhir-etl auth login ${source}\` first`
        : `every member of source ${source} must log in again: run \`fhir-etl auth login ${source}\``,
      { code: 'REST_NO_MEMBERS', context: { source, known } },
    );
  }
}

/** Some members could not be read; each failure is listed (the others' pages are committed). */
export class MemberReadsFailedError extends FhirEtlError {
  constructor(source: string, failures: unknown[]) {
    const lines = failures.map((f) => (f instanceof Error ? f.message : String(f)));
    super(`${failures.length} member read(s) of source ${source} failed:\n${lines.join('\n')}`, {
      code: 'REST_MEMBERS_FAILED',
      context: { source, failures: lines },
      cause: failures[0],
    });
  }
}
