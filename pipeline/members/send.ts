import type { ConnectionPool } from '@databases/pg';
import type { RestSourceConfig } from '../../config/index.ts';
import { clientCredentials, discoverSmartConfiguration } from '../../connectors/auth/index.ts';
import { createHttpClient, type HttpClient } from '../../connectors/http/index.ts';
import { readSendableResources, type SendOutcome, sendResources } from '../../connectors/send/index.ts';
import { FhirEtlError } from '../../errors/index.ts';
import { sendLedger } from './send-ledger.ts';

/**
 * `fhir-etl send --source NAME --member MEMBER PATH...`: the resources of the files, POSTed to
 * the source's FHIR server for one member with a member-scoped send token (1up: client
 * credentials with `patient=<member id>` and scope `patient/*.c`; the token lasts 2 hours).
 * Each resource's outcome is its own: a failure (a refusal, a lost answer) does not stop the
 * others. A `failed` outcome with `unconfirmed` may be on the server (see sendResources).
 */
export interface SendRequest {
  member: string;
  paths: string[];
  /**
   * POST plain creates again whose earlier send got no definite answer (`--resend-pending`):
   * only after checking the server does not hold them already.
   */
  resendPending?: boolean;
  http?: HttpClient;
  signal?: AbortSignal;
  onOutcome?: (outcome: SendOutcome) => void;
}

export async function sendToMember(
  db: ConnectionPool,
  source: RestSourceConfig,
  request: SendRequest,
): Promise<SendOutcome[]> {
  const send = source.send;
  if (send === undefined) throw new SendNotConfiguredError(source.name);
  const http = request.http ?? createHttpClient();
  const tokenUrl =
    send.tokenUrl ??
    source.auth.tokenUrl ??
    (await discoverSmartConfiguration(source.baseUrl, http)).token_endpoint;
  const provider = clientCredentials(
    {
      tokenUrl,
      clientId: send.clientId,
      clientSecret: send.clientSecret,
      method: send.method,
      scope: send.scope,
      extraParameters: { [send.memberParameter]: request.member },
    },
    { http },
  );
  return sendResources(readSendableResources(request.paths), {
    http,
    auth: { provider, allowedOrigins: [new URL(source.baseUrl).origin] },
    baseUrl: source.baseUrl,
    member: request.member,
    ledger: sendLedger(db, source.name),
    resendPending: request.resendPending ?? false,
    signal: request.signal,
    onOutcome: request.onOutcome,
  });
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
