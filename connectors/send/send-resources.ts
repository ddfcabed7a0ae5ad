import { type BearerAuth, type HttpClient, HttpError } from '../http/index.ts';
import { createRequest, processCreateResponse } from './conditional-create.ts';
import { contentHash } from './content-hash.ts';
import type { SendableResource } from './read-resources.ts';

/**
 * The send side of 1up's Payer-to-Payer API: the payer POSTs resources for one member with a
 * member-scoped token (only create is allowed). Vendor-specific: no HL7 spec defines a push.
 * A retry never duplicates: a resource already accepted (by content, in the ledger) is not sent
 * again, and a resource with an identifier is sent as a conditional create.
 * @see FHIR R4 http.html#create, http.html#ccreate
 */

/** What was accepted for whom, kept by the caller (fhir_etl.sent_resources). */
export interface SendLedger {
  accepted(entry: LedgerKey): Promise<boolean>;
  record(
    entry: LedgerKey & {
      localId?: string;
      serverId?: string;
      location?: string;
      outcome: 'created' | 'existed';
    },
  ): Promise<void>;
}

export interface LedgerKey {
  member: string;
  resourceType: string;
  contentHash: string;
}

export type SendOutcome = {
  origin: string;
  resourceType: string;
  localId?: string;
} & (
  | { status: 'created' | 'existed'; serverId?: string; location?: string }
  | { status: 'skipped' }
  | { status: 'failed'; error: string }
);

export interface SendOptions {
  http: HttpClient;
  auth: BearerAuth;
  baseUrl: string;
  member: string;
  ledger: SendLedger;
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

async function sendOne(item: SendableResource, options: SendOptions): Promise<SendOutcome> {
  const { resource } = item;
  const key: LedgerKey = {
    member: options.member,
    resourceType: resource.resourceType,
    contentHash: contentHash(resource),
  };
  const base = {
    origin: item.origin,
    resourceType: resource.resourceType,
    ...(typeof resource.id === 'string' ? { localId: resource.id } : {}),
  };
  if (await options.ledger.accepted(key)) return { ...base, status: 'skipped' };
  const request = createRequest(options.baseUrl, resource);
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
    const created = await processCreateResponse(response);
    await options.ledger.record({ ...key, ...created, ...(base.localId ? { localId: base.localId } : {}) });
    return { ...base, status: created.outcome, ...created };
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    return { ...base, status: 'failed', error: error.message };
  }
}
