import type { ConnectionPool } from '@databases/pg';
import type { RestSourceConfig } from '../../config/index.ts';
import {
  cachedTokenProvider,
  clientCredentialsToken,
  type ClientCredentialsOptions,
  discoverSmartConfiguration,
  type IssuedToken,
} from '../../connectors/auth/index.ts';
import { createHttpClient, type HttpClient } from '../../connectors/http/index.ts';
import {
  type PatientReference,
  patientReferences,
  readSendableResources,
  refusal,
  type SendableResource,
  type SendMember,
  type SendOutcome,
  sendResources,
} from '../../connectors/send/index.ts';
import { FhirEtlError } from '../../errors/index.ts';
import { patientIdOfMember } from './members.ts';
import { sendLedger } from './send-ledger.ts';

/**
 * `fhir-etl send --source NAME --member MEMBER PATH...`: the resources of the files, POSTed to
 * the source's FHIR server for one member with a member-scoped send token (1up: client
 * credentials with `patient=<member id>` and scope `patient/*.c`; the token lasts 2 hours).
 * Each resource's outcome is its own: a failure (a refusal, a lost answer) does not stop the
 * others. A `failed` outcome with `unconfirmed` may be on the server (see sendResources).
 */
export interface SendRequest {
  /** The member id (1up: e.g. 01-testmemid): who the send token is for. */
  member: string;
  paths: string[];
  /**
   * POST plain creates again whose earlier send got no definite answer (`--resend-pending`):
   * only after checking the server does not hold them already.
   */
  resendPending?: boolean;
  /**
   * Send resources that reference no patient at all (`--allow-no-patient-reference`): nothing
   * in them shows whose they are, so they are refused unless this says they belong to the member.
   */
  allowNoPatientReference?: boolean;
  http?: HttpClient;
  signal?: AbortSignal;
  onOutcome?: (outcome: SendOutcome) => void;
}

/**
 * Reads every resource first and checks that each one belongs to the member: every patient it
 * references is the member's Patient, as the server knows it (the send token's `patient`, else
 * the member's stored login). One that does not (or references no patient, unless allowed)
 * refuses the whole send before anything is POSTed: SendRefusedError lists them all.
 */
export async function sendToMember(
  db: ConnectionPool,
  source: RestSourceConfig,
  request: SendRequest,
): Promise<SendOutcome[]> {
  const send = source.send;
  if (send === undefined) throw new SendNotConfiguredError(source.name);
  // Every file read and parsed before a token is asked for: a bad input fails first (exit 2).
  const read = await readReferences(request.paths);
  const http = request.http ?? createHttpClient();
  const tokenUrl =
    send.tokenUrl ??
    source.auth.tokenUrl ??
    (await discoverSmartConfiguration(source.baseUrl, http)).token_endpoint;
  const credentials: ClientCredentialsOptions = {
    tokenUrl,
    clientId: send.clientId,
    clientSecret: send.clientSecret,
    method: send.method,
    scope: send.scope,
    extraParameters: { [send.memberParameter]: request.member },
  };
  const first = await clientCredentialsToken(credentials, http, request.signal);
  const member: SendMember = {
    memberId: request.member,
    patientId: first.patient ?? (await patientOfLogin(db, source.name, request.member)),
  };
  const refuse = (resource: SendableResource['resource'], references: PatientReference[]) => {
    const found = refusal(resource, references, member);
    return found && !(found.noPatientReference && request.allowNoPatientReference) ? found : undefined;
  };
  const refused = read.flatMap((item) => {
    const found = refuse(item.resource, item.references);
    return found
      ? [
          {
            origin: item.origin,
            what: item.what,
            reason: found.reason,
            noPatientReference: found.noPatientReference,
          },
        ]
      : [];
  });
  if (refused.length > 0) throw new SendRefusedError(member, read.length, refused);

  // The token fetched to learn the member's Patient is the first one used.
  let fetched: IssuedToken | undefined = first;
  const provider = cachedTokenProvider(async () => {
    const token = fetched ?? (await clientCredentialsToken(credentials, http, request.signal));
    fetched = undefined;
    return token;
  });
  return sendResources(readSendableResources(request.paths), {
    http,
    auth: { provider, allowedOrigins: [new URL(source.baseUrl).origin] },
    baseUrl: source.baseUrl,
    member: request.member,
    ledger: sendLedger(db, source.name),
    resendPending: request.resendPending ?? false,
    // The files are read again to send: checked again, so a file changed in between cannot slip through.
    refuse: (resource) => refuse(resource, patientReferences(resource))?.reason,
    signal: request.signal,
    onOutcome: request.onOutcome,
  });
}

interface ReadResource {
  origin: string;
  what: string;
  resource: Pick<SendableResource['resource'], 'resourceType' | 'id'>;
  references: PatientReference[];
}

/** Each resource of the files with its patient references (not the whole resource: files may be large). */
async function readReferences(paths: string[]): Promise<ReadResource[]> {
  const read: ReadResource[] = [];
  for await (const { resource, origin } of readSendableResources(paths)) {
    read.push({
      origin,
      what: `${resource.resourceType}${typeof resource.id === 'string' ? `/${resource.id}` : ''}`,
      resource: { resourceType: resource.resourceType, id: resource.id },
      references: patientReferences(resource),
    });
  }
  return read;
}

/** The member's Patient id from their stored login, when the send token did not name it. */
async function patientOfLogin(db: ConnectionPool, source: string, memberId: string): Promise<string> {
  const patientId = await patientIdOfMember(db, { source, memberId });
  if (patientId === undefined) throw new MemberPatientUnknownError(source, memberId);
  return patientId;
}

/** `fhir-etl send` on a source without a `send:` block. */
export class SendNotConfiguredError extends FhirEtlError {
  constructor(source: string) {
    super(`source ${source} has no send: block (clientId, clientSecret, scope) to obtain a send token with`, {
      code: 'SEND_NOT_CONFIGURED',
      context: { source },
      kind: 'input',
    });
  }
}

/** Resources of a send that do not belong to the member: nothing was sent. */
export class SendRefusedError extends FhirEtlError {
  static readonly LISTED = 50;

  constructor(
    member: SendMember,
    total: number,
    refused: Array<{ origin: string; what: string; reason: string; noPatientReference: boolean }>,
  ) {
    const lines = refused
      .slice(0, SendRefusedError.LISTED)
      .map((r) => `  ${r.what} (${r.origin}): ${r.reason}`);
    if (refused.length > SendRefusedError.LISTED)
      lines.push(`  and ${refused.length - SendRefusedError.LISTED} more`);
    const unreferenced = refused.some((r) => r.noPatientReference)
      ? "\nA resource that references no patient is sent only with --allow-no-patient-reference, once you know it is the member's."
      : '';
    super(
      `send refused: ${refused.length} of ${total} resources are not for member ${member.memberId} ` +
        `(Patient/${member.patientId}); nothing was sent:\n${lines.join('\n')}${unreferenced}`,
      {
        code: 'SEND_OTHER_MEMBER',
        context: {
          member: member.memberId,
          patientId: member.patientId,
          refused: refused.map((r) => r.origin),
        },
        kind: 'input',
      },
    );
  }
}

/** Neither the send token nor a stored login says which Patient the member is. */
export class MemberPatientUnknownError extends FhirEtlError {
  constructor(source: string, memberId: string) {
    super(
      `cannot tell which Patient member ${memberId} is on ${source}: the send token names none (no \`patient\` ` +
        `in the token response) and no login of the member is stored; run \`fhir-etl auth login ${source}\` ` +
        `as the member first, so each resource can be checked to be theirs before it is sent`,
      { code: 'SEND_MEMBER_PATIENT_UNKNOWN', context: { source, member: memberId }, kind: 'input' },
    );
  }
}
