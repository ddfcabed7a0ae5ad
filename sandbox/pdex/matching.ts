import type { Dataset } from '../data/dataset.ts';
import { demographics, memberIndexById } from '../data/members.ts';

/**
 * How the sandbox's prior payer finds a submitted member: by demographics (family name, first
 * given name, birth date, gender) and by the member id on the prior coverage card. A match needs
 * exactly one candidate, found both ways. Deterministic non-matches:
 * - no candidate at all, or one found only one way (no such member);
 * - two or more candidates (the demographics name one member and the member id another).
 * PDex: a deterministic match requires the member id (a pure demographic match is not enough).
 * @see Da Vinci PDex 2.2.0 OperationDefinition BulkMemberMatch (description)
 */

export interface Submitted {
  family?: string;
  given?: string;
  birthDate?: string;
  gender?: string;
  /** Identifier of type MB (or subscriberId) on CoverageToMatch. */
  memberId?: string;
}

export type MatchDecision = { matched: true; index: number } | { matched: false; reason: string };

export interface MemberFinder {
  find(submitted: Submitted): MatchDecision;
}

/** A finder over a dataset's members; the demographics index is built on first use. */
export function memberFinder(dataset: Dataset): MemberFinder {
  let byDemographics: Map<string, number[]> | undefined;
  const index = () => {
    if (byDemographics) return byDemographics;
    byDemographics = new Map();
    for (let i = 0; i < dataset.patients; i++) {
      const d = demographics(dataset.seed, i);
      const key = demographicKey({
        family: d.family,
        given: d.given,
        birthDate: d.birthDate,
        gender: d.gender,
      });
      byDemographics.set(key, [...(byDemographics.get(key) ?? []), i]);
    }
    return byDemographics;
  };
  return {
    find(submitted) {
      const byDemo = index().get(demographicKey(submitted)) ?? [];
      const byId =
        submitted.memberId === undefined ? undefined : memberIndexById(submitted.memberId, dataset.patients);
      const candidates = new Set([...byDemo, ...(byId === undefined ? [] : [byId])]);
      if (candidates.size === 0)
        return { matched: false, reason: 'no member has these demographics or this member id' };
      if (candidates.size > 1)
        return {
          matched: false,
          reason: `${candidates.size} members match these demographics and member id`,
        };
      const only = [...candidates][0] as number;
      if (byId !== only || !byDemo.includes(only))
        return { matched: false, reason: 'the member id and the demographics do not name the same member' };
      return { matched: true, index: only };
    },
  };
}

function demographicKey(s: Pick<Submitted, 'family' | 'given' | 'birthDate' | 'gender'>): string {
  return [s.family, s.given, s.birthDate, s.gender].map((v) => (v ?? '').trim().toLowerCase()).join('|');
}
