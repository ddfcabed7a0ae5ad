/**
 * A member to match at a prior payer, as the requesting payer knows them: the fields PDex needs
 * to build an HRex MemberBundle (demographics, the old coverage, the opt-in consent).
 *
 * @see Da Vinci PDex 2.2.0 payertopayerbulkexchange.md ("SHALL be exchanged ... Patient
 *   Demographics, Prior Coverage, Consent Record")
 */
export interface ExchangeMember {
  /** The member's id at this (the requesting) payer. */
  memberId: string;
  given: string[];
  family: string;
  /** YYYY-MM-DD */
  birthDate: string;
  gender: 'male' | 'female' | 'other' | 'unknown';
  address?: { line?: string[]; city?: string; state?: string; postalCode?: string };
  /** The member id on the prior payer's card (CoverageToMatch identifier of type MB). */
  oldMemberId: string;
  oldSubscriberId?: string;
  /** The prior payer, as an Organization identifier and name. */
  oldPayer: PayerIdentity;
  oldPlanId?: string;
  oldGroupId?: string;
  /** The prior coverage's period (YYYY-MM-DD), when known. */
  oldCoverageStart?: string;
  oldCoverageEnd?: string;
  /** Coverage.relationship of the member to the subscriber (HRex binding; default self). */
  relationship: string;
  /** The member's coverage at this payer starts (CoverageToLink.period.start), when known. */
  coverageStart?: string;
  consent: MemberConsent;
}

/** The member's opt-in: "all data" or "non-sensitive only", for a period (both dates required by HRex). */
export interface MemberConsent {
  policy: ConsentPolicy;
  /** YYYY-MM-DD */
  start: string;
  end: string;
}

export type ConsentPolicy = 'all' | 'non-sensitive';

/** An Organization known by an identifier (an NPI by default) and a name. */
export interface PayerIdentity {
  system: string;
  value: string;
  name: string;
}
