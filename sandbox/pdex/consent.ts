import { date } from '../data/time.ts';

/**
 * The consent decision of the prior payer for a matched member: the policy must be one of the
 * two HRex policies (this payer can segment sensitive data, so both are honoured), the consent
 * must be in effect today, and it must permit disclosure to someone (the requesting payer).
 * @see Da Vinci PDex 2.2.0 payertopayerexchange.md (Evaluation of Consent)
 * @see HRex ValueSet hrex-consent-policy (#regular: non-sensitive only; #sensitive: everything)
 */

export type ConsentPolicy = 'all' | 'non-sensitive';

export type ConsentDecision =
  { honoured: true; policy: ConsentPolicy; end: string } | { honoured: false; reason: string };

const POLICIES: Readonly<Record<string, ConsentPolicy>> = {
  'http://hl7.org/fhir/us/davinci-hrex/StructureDefinition-hrex-consent.html#regular': 'non-sensitive',
  'http://hl7.org/fhir/us/davinci-hrex/StructureDefinition-hrex-consent.html#sensitive': 'all',
};

interface ConsentShape {
  resourceType?: unknown;
  status?: unknown;
  policy?: Array<{ uri?: unknown }>;
  provision?: {
    type?: unknown;
    period?: { start?: unknown; end?: unknown };
    actor?: Array<{ role?: { coding?: Array<{ code?: unknown }> } }>;
  };
}

export function evaluateConsent(resource: unknown, now: number): ConsentDecision {
  const consent = (resource ?? {}) as ConsentShape;
  if (consent.resourceType !== 'Consent') return { honoured: false, reason: 'no Consent was submitted' };
  if (consent.status !== 'active') return { honoured: false, reason: 'the consent is not active' };
  const uri = consent.policy?.map((p) => p.uri).find((u) => typeof u === 'string' && u in POLICIES);
  if (typeof uri !== 'string')
    return { honoured: false, reason: 'the consent policy is neither HRex #regular nor #sensitive' };
  const provision = consent.provision ?? {};
  if (provision.type !== 'permit')
    return { honoured: false, reason: 'the consent does not permit disclosure' };
  const start = provision.period?.start;
  const end = provision.period?.end;
  if (typeof start !== 'string' || typeof end !== 'string')
    return { honoured: false, reason: 'the consent has no period' };
  const today = date(now);
  if (end.slice(0, 10) < today) return { honoured: false, reason: `the consent period ended on ${end}` };
  if (start.slice(0, 10) > today) return { honoured: false, reason: `the consent period starts on ${start}` };
  const recipient = provision.actor?.some((a) => a.role?.coding?.some((c) => c.code === 'IRCP'));
  if (!recipient) return { honoured: false, reason: 'the consent names no recipient (IRCP)' };
  return { honoured: true, policy: POLICIES[uri] as ConsentPolicy, end: end.slice(0, 10) };
}

/** Whether a member's consent still holds today (re-checked at every export, PDex pdex-156/167). */
export function consentInEffect(end: string, now: number): boolean {
  return end >= date(now);
}
