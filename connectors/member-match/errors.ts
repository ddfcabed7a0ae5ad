import { FhirEtlError } from '../../errors/index.ts';

/** The prior payer refused the $bulk-member-match request itself: nothing was matched. */
export class MemberMatchKickOffError extends FhirEtlError {
  readonly status: number | undefined;

  constructor(details: { url: string; status?: number; detail?: string }, cause?: unknown) {
    const status = details.status === undefined ? '' : ` (${details.status})`;
    super(
      `the member match at ${details.url} was refused${status}${details.detail ? `: ${details.detail}` : ''}`,
      { code: 'MEMBER_MATCH_REFUSED', context: details, cause },
    );
    this.status = details.status;
  }
}

/** A match result this client cannot read (a Group without its result code, a line that is not JSON). */
export class MemberMatchResultError extends FhirEtlError {
  constructor(details: { file: string; line: number; problem: string }) {
    super(`the member match result ${details.file} line ${details.line} cannot be read: ${details.problem}`, {
      code: 'MEMBER_MATCH_INVALID_RESULT',
      context: details,
    });
  }
}

/** A $member-match answer that is neither a match (200 with MemberIdentifier) nor a refusal (422). */
export class MemberMatchResponseError extends FhirEtlError {
  constructor(details: { url: string; status: number; detail?: string }, cause?: unknown) {
    super(
      `$member-match at ${details.url} answered ${details.status}${details.detail ? `: ${details.detail}` : ''}`,
      { code: 'MEMBER_MATCH_FAILED', context: details, cause },
    );
  }
}
