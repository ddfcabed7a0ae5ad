import { z } from 'zod';
import type { ExchangeMember, PayerIdentity } from '../../connectors/member-match/index.ts';

/**
 * One member row of a payer exchange, as a CSV line, an NDJSON object or a SQL row gives it:
 * snake_case fields, the ones PDex needs to match a member and carry their consent. Empty
 * values count as absent. See docs/configuration.md ("Payer-to-Payer under CMS-0057-F").
 */

const NPI = 'http://hl7.org/fhir/sid/us-npi';

/** The message of a field that is missing, or else of one that has the wrong kind of value. */
const required = (otherwise: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? 'is required' : otherwise;

const text = z
  .string({ error: required('must be text') })
  .trim()
  .min(1);
const date = z
  .string({ error: required('must be a date YYYY-MM-DD') })
  .trim()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')
  .refine(
    (d) =>
      !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d),
    {
      message: 'is not a calendar date',
    },
  );

/** Coverage.relationship: HRex binds subscriber-relationship plus data-absent-reason `unknown`. */
const RELATIONSHIPS = ['self', 'spouse', 'child', 'parent', 'common', 'injured', 'other', 'unknown'] as const;

export const MEMBER_FIELDS = {
  member_id: text,
  given: text,
  family: text,
  birth_date: date,
  // HRex Patient Demographics (hrex-pat-1): gender or birth sex SHALL be present; `unknown` is a gender.
  gender: z.enum(['male', 'female', 'other', 'unknown'], {
    error: required('must be male, female, other or unknown'),
  }),
  address_line: text.optional(),
  city: text.optional(),
  state: text.optional(),
  postal_code: text.optional(),
  old_member_id: text,
  old_subscriber_id: text.optional(),
  old_payer_id: text.optional(),
  old_payer_system: text.optional(),
  old_payer_name: text.optional(),
  old_plan_id: text.optional(),
  old_group_id: text.optional(),
  old_coverage_start: date.optional(),
  old_coverage_end: date.optional(),
  relationship: z.enum(RELATIONSHIPS, { error: `must be one of ${RELATIONSHIPS.join(', ')}` }).optional(),
  coverage_start: date.optional(),
  consent_start: date,
  consent_end: date,
  consent_policy: z.enum(['all', 'non-sensitive'], { error: required('must be all or non-sensitive') }),
};

const memberRow = z.strictObject(MEMBER_FIELDS).refine((row) => row.consent_end >= row.consent_start, {
  message: 'is before consent_start',
  path: ['consent_end'],
});

export type MemberRow = z.infer<typeof memberRow>;

/**
 * A row checked and turned into an ExchangeMember; the problems (each naming its field) when it
 * is not valid. `priorPayer` stands in for a row that does not name the prior payer.
 */
export function parseMemberRow(
  values: Record<string, unknown>,
  priorPayer: PayerIdentity | undefined,
): { member: ExchangeMember } | { problems: string[] } {
  const parsed = memberRow.safeParse(withoutEmpty(values));
  if (!parsed.success) {
    return {
      problems: parsed.error.issues.map((issue) =>
        issue.code === 'unrecognized_keys'
          ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`
          : `${issue.path.join('.') || 'row'} ${issue.message}`,
      ),
    };
  }
  const row = parsed.data;
  const oldPayer = rowPayer(row) ?? priorPayer;
  if (oldPayer === undefined)
    return { problems: ['old_payer_id and old_payer_name are required (or set priorPayer in the source)'] };
  return { member: toMember(row, oldPayer) };
}

function rowPayer(row: MemberRow): PayerIdentity | undefined {
  if (row.old_payer_id === undefined || row.old_payer_name === undefined) return undefined;
  return { system: row.old_payer_system ?? NPI, value: row.old_payer_id, name: row.old_payer_name };
}

function toMember(row: MemberRow, oldPayer: PayerIdentity): ExchangeMember {
  const address = {
    ...(row.address_line === undefined ? {} : { line: [row.address_line] }),
    ...(row.city === undefined ? {} : { city: row.city }),
    ...(row.state === undefined ? {} : { state: row.state }),
    ...(row.postal_code === undefined ? {} : { postalCode: row.postal_code }),
  };
  return {
    memberId: row.member_id,
    given: row.given.split(/\s+/),
    family: row.family,
    birthDate: row.birth_date,
    gender: row.gender,
    ...(Object.keys(address).length > 0 ? { address } : {}),
    oldMemberId: row.old_member_id,
    ...(row.old_subscriber_id === undefined ? {} : { oldSubscriberId: row.old_subscriber_id }),
    oldPayer,
    ...(row.old_plan_id === undefined ? {} : { oldPlanId: row.old_plan_id }),
    ...(row.old_group_id === undefined ? {} : { oldGroupId: row.old_group_id }),
    ...(row.old_coverage_start === undefined ? {} : { oldCoverageStart: row.old_coverage_start }),
    ...(row.old_coverage_end === undefined ? {} : { oldCoverageEnd: row.old_coverage_end }),
    relationship: row.relationship ?? 'self',
    ...(row.coverage_start === undefined ? {} : { coverageStart: row.coverage_start }),
    consent: { policy: row.consent_policy, start: row.consent_start, end: row.consent_end },
  };
}

/** '' and null are absent; a Date (a SQL date column) is its calendar date; numbers become text. */
function withoutEmpty(values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === null || value === undefined || value === '') continue;
    if (value instanceof Date) out[key] = localDate(value);
    else if (typeof value === 'number' || typeof value === 'bigint') out[key] = String(value);
    else out[key] = value;
  }
  return out;
}

/** node-postgres reads a `date` column as local midnight of that day. */
function localDate(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
