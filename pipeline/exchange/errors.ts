import { FhirEtlError } from '../../errors/index.ts';

export interface MemberInputProblem {
  /** 1-based line of the file (the header is line 1 of a CSV) or row of the query; 0: the input as a whole. */
  line: number;
  problems: string[];
}

/** The member list of a payer exchange has bad rows: nothing was sent, every problem is listed. */
export class MemberInputError extends FhirEtlError {
  constructor(where: string, unit: 'line' | 'row', problems: MemberInputProblem[]) {
    const listed = problems
      .slice(0, 20)
      .map((p) => `${p.line > 0 ? `${unit} ${p.line}: ` : ''}${p.problems.join('; ')}`);
    const more = problems.length > 20 ? [`... and ${problems.length - 20} more`] : [];
    super(
      `the members in ${where} cannot be matched; nothing was sent to the prior payer:\n${[...listed, ...more].join('\n')}`,
      { code: 'EXCHANGE_MEMBER_INVALID', context: { where, problems }, kind: 'input' },
    );
  }
}

/** Some members of a single-member exchange could not be matched or pulled (the others were). */
export class ExchangeMembersFailedError extends FhirEtlError {
  constructor(source: string, failures: Array<{ memberId: string; error: string }>) {
    const lines = failures.map((f) => `member ${f.memberId}: ${f.error}`);
    super(`${failures.length} member(s) of source ${source} failed:\n${lines.join('\n')}`, {
      code: 'EXCHANGE_MEMBERS_FAILED',
      context: { source, failures },
    });
  }
}

/** The prior payer forgot a Group matched moments ago (404/410 again after matching anew). */
export class ExchangeGroupGoneError extends FhirEtlError {
  constructor(source: string, reason: string) {
    super(
      `source ${source}: ${reason} even after matching the members again; the prior payer keeps no Group long enough to pull it`,
      {
        code: 'EXCHANGE_GROUP_GONE',
        context: { source, reason },
      },
    );
  }
}
