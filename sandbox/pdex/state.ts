import type { ConsentPolicy } from './consent.ts';

/**
 * What the sandbox's Payer-to-Payer API remembers: bulk member matches (async jobs), the Groups
 * they made, the members $member-match matched (for member-scoped tokens), the requests it
 * received, and the knobs tests turn.
 */

export const P2P_BASE = '/p2p/r4';
export const P2P_TOKEN_PATH = '/p2p/oauth2/token';

/** A member of a MatchedMembers Group: who, under which consent. */
export interface MatchedMember {
  index: number;
  policy: ConsentPolicy;
  /** The consent's last day (YYYY-MM-DD): pulls after it leave the member out. */
  consentEnd: string;
}

export interface MatchGroup {
  id: string;
  clientId: string;
  createdAt: number;
  members: MatchedMember[];
  /** The Group as the match answered it. */
  resource: Record<string, unknown>;
}

/** One $bulk-member-match: its result Groups as NDJSON files, ready after `pollsBeforeReady` polls. */
export interface MatchJob {
  id: string;
  files: Array<{ name: string; group: Record<string, unknown> }>;
  /** 1 for the first match request received, 2 for the next, ... */
  sequence: number;
  polls: number;
  cancelled: boolean;
}

export interface PdexSettings {
  /** A MatchedMembers Group answers 410 Gone this many days after the match (PDex suggests 30). */
  groupLifetimeDays: number;
  /** Whether the CapabilityStatement offers Patient/$export (else single-member pulls search). */
  patientExport: boolean;
  /**
   * Once this many match requests were received, `$bulk-member-match` answers 500 (an outage):
   * a test stops a batched match part way. Unset: always answered.
   */
  matchOutageAfter?: number;
}

export interface PdexState {
  settings: PdexSettings;
  matchJobs: Map<string, MatchJob>;
  groups: Map<string, MatchGroup>;
  /** $member-match results by client: the member indexes a member-scoped token may be issued for. */
  singleMatches: Map<string, Map<number, MatchedMember>>;
  /** Every match request body received (bulk and single), for tests. */
  matchRequests: unknown[];
  /** While set, $davinci-data-export status polls answer 202: a test holds the export "in progress". */
  exportsHeld: boolean;
  /** While set, status polls of bulk matches from this request on (1-based) answer 202: held "matching". */
  matchesHeldFrom: number | undefined;
  counter: number;
}

export function createPdexState(): PdexState {
  return {
    settings: { groupLifetimeDays: 30, patientExport: true },
    matchJobs: new Map(),
    groups: new Map(),
    singleMatches: new Map(),
    matchRequests: [],
    exportsHeld: false,
    matchesHeldFrom: undefined,
    counter: 0,
  };
}
