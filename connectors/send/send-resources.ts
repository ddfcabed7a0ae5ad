import { AuthError } from '../auth/errors.ts';
import {
  type BearerAuth,
  type HttpClient,
  HttpError,
  HttpNetworkError,
  TokenOriginError,
} from '../http/index.ts';
import { CreateNotConfirmedError, createRequest, processCreateResponse } from './conditional-create.ts';
import { contentHash } from './content-hash.ts';
import type { SendableResource } from './read-resources.ts';

/**
 * The send side of 1up's Payer-to-Payer API: the payer POSTs resources for one member with a
 * member-scoped token (only create is allowed). Vendor-specific: no HL7 spec defines a push.
 *
 * A retry never duplicates. A resource with an identifier goes as a conditional create, which
 * the server matches. Every resource also has a ledger row, written `pending` (and committed)
 * before its POST and marked `delivered` after a definite answer (201; 200 to a conditional
 * create). A plain create whose row is still pending (an answer lost, the process killed, the
 * ledger write failed, a 5xx or 202) may be on the server: it is reported, not POSTed again,
 * unless `resendPending` says so. Two senders of the same resource take turns (the ledger's
 * claim), so the second finds it delivered.
 * @see FHIR R4 http.html#create, http.html#ccreate
 */

/** What was sent for whom, kept by the caller (fhir_etl.sent_resources). */
export interface SendLedger {
  /**
   * Runs `send` holding this resource's claim: a concurrent sender of the same resource waits
   * until it is over. `state` is what the ledger holds once the claim is taken.
   */
  claim<T>(key: LedgerKey, send: (state: LedgerState) => Promise<T>): Promise<T>;
  /** Writes the row as pending, committed before this returns: a POST is about to go. */
  begin(entry: LedgerKey & { localId?: string }): Promise<void>;
  /** Marks the row delivered: the server confirmed it. */
  record(entry: LedgerKey & { localId?: string } & CreatedOutcome): Promise<void>;
  /** Keeps the row pending, noting what the last POST got instead of a definite answer. */
  unconfirmed(key: LedgerKey, error: string): Promise<void>;
  /** Removes a pending row: the server certainly did not create the resource. */
  forget(key: LedgerKey): Promise<void>;
}

export interface LedgerKey {
  member: string;
  resourceType: string;
  contentHash: string;
}

/** absent: never sent; pending: sent (or about to be) without a definite answer; delivered. */
export type LedgerState =
  { state: 'absent' } | { state: 'pending'; lastError?: string } | { state: 'delivered' };

interface CreatedOutcome {
  outcome: 'created' | 'existed';
  serverId?: string;
  location?: string;
}

export type SendOutcome = {
  origin: string;
  resourceType: string;
  localId?: string;
} & (
  | { status: 'created' | 'existed'; serverId?: string; location?: string }
  | { status: 'skipped' }
  | {
      status: 'failed';
      error: string;
      /**
       * The server may hold the resource (no definite answer to a plain create): a later send
       * does not POST it again unless told to (`resendPending`). Check the server first.
       */
      unconfirmed?: boolean;
    }
);

export interface SendOptions {
  http: HttpClient;
  auth: BearerAuth;
  baseUrl: string;
  member: string;
  ledger: SendLedger;
  /**
   * POST plain creates again whose earlier send got no definite answer (ledger row pending).
   * Only after checking the server does not hold them: it would create a second copy.
   */
  resendPending?: boolean;
  /** Why a resource must not be sent (it is not the member's), or undefined: checked before its POST. */
  refuse?: (resource: SendableResource['resource']) => string | undefined;
  signal?: AbortSignal;
  onOutcome?: (outcome: SendOutcome) => void;
}

/** Sends each resource in turn and reports each one's outcome; a failure does not stop the others. */
export async function sendResources(
  resources: AsyncIterable<SendableResource>,
  options: SendOptions,
): Promise<SendOutcome[]> {
  const outcomes: SendOutcome[] = [];
  for await (const item of resources) {
    if (options.signal?.aborted) break;
    const outcome = await sendOne(item, options);
    outcomes.push(outcome);
    options.onOutcome?.(outcome);
  }
  return outcomes;
}

const CHECK_THE_SERVER =
  'the server may have created it: check the server; a later send does not POST it again ' +
  'unless given --resend-pending';

async function sendOne(item: SendableResource, options: SendOptions): Promise<SendOutcome> {
  const { resource } = item;
  const { ledger } = options;
  const key: LedgerKey = {
    member: options.member,
    resourceType: resource.resourceType,
    contentHash: contentHash(resource),
  };
  const localId = typeof resource.id === 'string' ? resource.id : undefined;
  const base = {
    origin: item.origin,
    resourceType: resource.resourceType,
    ...(localId === undefined ? {} : { localId }),
  };
  const entry = { ...key, ...(localId === undefined ? {} : { localId }) };
  const failed = (error: string, unconfirmed: boolean): SendOutcome => ({
    ...base,
    status: 'failed',
    error,
    ...(unconfirmed ? { unconfirmed } : {}),
  });

  const refused = options.refuse?.(resource);
  if (refused !== undefined) return failed(`refused, not sent: ${refused}`, false);

  return ledger.claim(key, async (found) => {
    if (found.state === 'delivered') return { ...base, status: 'skipped' };
    const request = createRequest(options.baseUrl, resource);
    // A conditional create may always go again: the server matches it instead of creating twice.
    if (found.state === 'pending' && !request.conditional && !options.resendPending) {
      const earlier = found.lastError ? ` (${found.lastError})` : '';
      return failed(`an earlier send got no definite answer${earlier}; ${CHECK_THE_SERVER}`, true);
    }
    if (found.state === 'absent') await ledger.begin(entry);

    let created: CreatedOutcome;
    try {
      const response = await options.http.request(request.url, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
        auth: options.auth,
        signal: options.signal,
        // A conditional create is idempotent, so a 5xx or a lost answer may be retried; a plain create may not.
        retryServerErrors: request.conditional,
        idempotent: request.conditional,
      });
      created = await processCreateResponse(response, request);
    } catch (error) {
      // Shutting down: the row stays pending (the request may have gone), reported next time.
      if (options.signal?.aborted) throw error;
      const message = error instanceof Error ? error.message : String(error);
      if (certainlyNotCreated(error) || request.conditional) {
        await ledger.forget(key).catch(() => undefined);
        return failed(message, false);
      }
      await ledger.unconfirmed(key, message).catch(() => undefined);
      return failed(`${message}; ${CHECK_THE_SERVER}`, true);
    }

    try {
      await ledger.record({ ...entry, ...created });
    } catch (error) {
      // The server has it; the ledger row stays pending, so a later send reports it, never re-POSTs it.
      const at = created.location ?? created.serverId ?? 'the server';
      return failed(
        `${created.outcome} (${at}), but the send ledger could not record it ` +
          `(${(error as Error).message}); a later send reports it as possibly created instead of sending it again`,
        !request.conditional,
      );
    }
    return { ...base, status: created.outcome, ...created };
  });
}

/**
 * Whether the failed POST provably left nothing on the server: a 4xx refusal, a network failure
 * the HTTP client proved happened before the request left (only those are retried for a POST,
 * so no `notRetried`), or a failure before any POST (the send token, the origin check).
 * A 5xx, a lost answer, an unconfirming 2xx (202) and anything unknown leave it open.
 */
function certainlyNotCreated(error: unknown): boolean {
  if (error instanceof CreateNotConfirmedError) return false;
  if (error instanceof HttpError) return error.status >= 400 && error.status < 500;
  if (error instanceof HttpNetworkError) return error.context.notRetried === undefined;
  return error instanceof AuthError || error instanceof TokenOriginError;
}
