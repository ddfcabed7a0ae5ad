import type { FastifyInstance } from 'fastify';
import type { SandboxContext } from '../context.ts';
import type { FhirResource } from '../data/resource.ts';
import { registerBulkMemberMatch } from './bulk-member-match.ts';
import type { ConsentPolicy } from './consent.ts';
import { registerDataExport } from './data-export.ts';
import { memberFinder } from './matching.ts';
import { registerMemberMatch } from './member-match.ts';
import { p2pRecord } from './record.ts';
import { createPdexState, type PdexSettings, type PdexState, P2P_BASE } from './state.ts';
import { registerP2pAuthorization } from './token.ts';

/**
 * The sandbox as a prior payer under CMS-0057-F: Da Vinci PDex Payer-to-Payer, bulk
 * ($bulk-member-match, then $davinci-data-export #payertopayer) and single member
 * ($member-match, a member-scoped token, Patient/$export or searches), at /p2p/r4.
 * See docs/sandbox.md ("Payer-to-Payer under CMS-0057-F").
 */

/** What tests (and the CLI's `sandbox` command) see of the Payer-to-Payer API. */
export interface PdexHandle {
  readonly settings: PdexSettings;
  /** The match request bodies received ($bulk-member-match and $member-match), in order. */
  readonly matchRequests: ReadonlyArray<unknown>;
  /** Holds every $davinci-data-export and Patient/$export "in progress" (202) until the returned release is called. */
  holdExports(): () => void;
  /** Forgets every MatchedMembers Group (as a server that lost them): reads and exports of them answer 404. */
  forgetGroups(): void;
  /** Holds the bulk matches from the `from`-th match request on "matching" (202) until the returned release is called. */
  holdMatchesFrom(from: number): () => void;
  /** A member's record as this API serves it under a consent policy (latest data). */
  recordOf(index: number, policy?: ConsentPolicy): FhirResource[];
  /** The resources no member owns (Organization, Location, Practitioner): every export carries them. */
  shared(): FhirResource[];
  /** The MatchedMembers Groups made so far, with their members' indexes. */
  groups(): Array<{ id: string; createdAt: number; members: number[] }>;
}

export function registerPdexRoutes(app: FastifyInstance, context: SandboxContext): PdexHandle {
  const pdex: PdexState = createPdexState();
  const finder = memberFinder(context.dataset);
  registerP2pAuthorization(app, context, pdex);
  registerBulkMemberMatch(app, context, pdex, finder);
  registerDataExport(app, context, pdex);
  registerMemberMatch(app, context, pdex, finder);
  return {
    settings: pdex.settings,
    matchRequests: pdex.matchRequests,
    holdExports() {
      pdex.exportsHeld = true;
      return () => {
        pdex.exportsHeld = false;
      };
    },
    forgetGroups() {
      pdex.groups.clear();
    },
    holdMatchesFrom(from) {
      pdex.matchesHeldFrom = from;
      return () => {
        pdex.matchesHeldFrom = undefined;
      };
    },
    recordOf: (index, policy) => p2pRecord(context.dataset, index, context.dataset.step(), policy),
    shared: () => context.dataset.shared(),
    groups: () =>
      [...pdex.groups.values()].map((g) => ({
        id: g.id,
        createdAt: g.createdAt,
        members: g.members.map((m) => m.index),
      })),
  };
}

export { P2P_BASE };
