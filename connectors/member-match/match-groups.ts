import { MemberMatchResultError } from './errors.ts';
import { shownValue } from '../../errors/shown-value.ts';

/**
 * The Groups a bulk member match answers with, read into one outcome per member:
 * - MatchedMembers (pdex-member-match-group, code `match`): each member.entity references the
 *   member's Patient at the prior payer; its extension base-ext-match-parameters points at the
 *   contained Patient that was submitted.
 * - NonMatchedMembers (pdex-member-no-match-group, code `nomatch`) and ConsentConstrainedMembers
 *   (code `consentconstraint`): member.entity references the contained submitted Patient.
 * Groups arrive as NDJSON files of a manifest, or inside the PDex 2.1.0 Parameters envelope
 * (ResourceIdentifier, NoMatch, ConsentConstraint).
 *
 * @see Da Vinci PDex 2.2.0 ProfilePDexMemberMatchGroup.fsh, PDexMultiMemberMatchResponseProfile.fsh
 * @see /work/shared/reference/standards.md section 1.2
 */

export type MatchOutcome = 'matched' | 'not-matched' | 'consent-constrained';

export interface SubmittedPatient {
  id?: string;
  family?: string;
  given?: string[];
  birthDate?: string;
}

export interface MemberOutcome {
  outcome: MatchOutcome;
  /** The submitted Patient as the server echoed it (contained in the Group). */
  submitted: SubmittedPatient;
  /** Matched: the MatchedMembers Group the member is in, and their Patient id at the prior payer. */
  groupId?: string;
  oldPatientId?: string;
}

export interface MatchGroupsReader {
  /** One NDJSON line of a manifest file (a Group, or a Parameters envelope of Groups). */
  addLine(line: string, at: { file: string; line: number }): void;
  addResource(resource: unknown, at: { file: string; line: number }): void;
  outcomes(): MemberOutcome[];
}

export const MATCH_RESULT_SYSTEM =
  'http://hl7.org/fhir/us/davinci-pdex/CodeSystem/PdexMultiMemberMatchResultCS';
export const MATCH_PARAMETERS_EXTENSION =
  'http://hl7.org/fhir/us/davinci-pdex/StructureDefinition/base-ext-match-parameters';

const OUTCOME_BY_CODE: Readonly<Record<string, MatchOutcome>> = {
  match: 'matched',
  nomatch: 'not-matched',
  consentconstraint: 'consent-constrained',
};
/** PDex 2.1.0 envelope parameter names, for a Group that does not carry its code. */
const OUTCOME_BY_PARAMETER: Readonly<Record<string, MatchOutcome>> = {
  ResourceIdentifier: 'matched',
  MatchedMembers: 'matched',
  NoMatch: 'not-matched',
  NonMatchedMembers: 'not-matched',
  ConsentConstraint: 'consent-constrained',
  ConsentConstrainedMembers: 'consent-constrained',
};

interface GroupShape {
  resourceType?: unknown;
  id?: unknown;
  code?: { coding?: Array<{ system?: unknown; code?: unknown }> };
  contained?: Array<Record<string, unknown>>;
  member?: Array<{ entity?: { reference?: unknown; extension?: Array<Record<string, unknown>> } }>;
}

export function matchGroupsReader(): MatchGroupsReader {
  const outcomes: MemberOutcome[] = [];
  const addGroup = (group: GroupShape, at: { file: string; line: number }, parameter?: string) => {
    const outcome = groupOutcome(group, parameter);
    if (outcome === undefined) {
      throw new MemberMatchResultError({
        ...at,
        problem: `Group ${shownValue(group.id ?? '(no id)')} has no ${MATCH_RESULT_SYSTEM} code (match, nomatch, consentconstraint)`,
      });
    }
    const contained = new Map(
      (group.contained ?? []).filter((r) => typeof r.id === 'string').map((r) => [r.id as string, r]),
    );
    for (const member of group.member ?? []) {
      const entity = member.entity ?? {};
      const reference = typeof entity.reference === 'string' ? entity.reference : '';
      const pointer =
        matchParametersReference(entity.extension) ?? (reference.startsWith('#') ? reference : '');
      const submitted = submittedPatient(contained.get(pointer.replace(/^#/, '')));
      if (outcome !== 'matched') {
        outcomes.push({ outcome, submitted });
        continue;
      }
      const oldPatientId = /(?:^|\/)Patient\/([^/]+?)(?:\/_history\/.*)?$/.exec(reference)?.[1];
      if (oldPatientId === undefined || typeof group.id !== 'string') {
        throw new MemberMatchResultError({
          ...at,
          problem: `a matched member of Group ${shownValue(group.id ?? '(no id)')} does not reference a Patient (${reference || 'no reference'})`,
        });
      }
      outcomes.push({ outcome, submitted, groupId: group.id, oldPatientId });
    }
  };
  const reader: MatchGroupsReader = {
    addLine(line, at) {
      if (line.trim() === '') return;
      let resource: unknown;
      try {
        resource = JSON.parse(line);
      } catch {
        throw new MemberMatchResultError({ ...at, problem: 'the line is not JSON' });
      }
      reader.addResource(resource, at);
    },
    addResource(resource, at) {
      const r = (resource ?? {}) as { resourceType?: unknown; parameter?: unknown };
      if (r.resourceType === 'Group') return addGroup(r, at);
      if (r.resourceType === 'Parameters' && Array.isArray(r.parameter)) {
        for (const p of r.parameter as Array<{ name?: unknown; resource?: GroupShape }>) {
          if (p.resource?.resourceType === 'Group') addGroup(p.resource, at, String(p.name));
        }
        return;
      }
      if (r.resourceType === 'OperationOutcome') return;
      throw new MemberMatchResultError({
        ...at,
        problem: `expected a Group or a Parameters resource, found ${String(r.resourceType)}`,
      });
    },
    outcomes: () => outcomes,
  };
  return reader;
}

function groupOutcome(group: GroupShape, parameter: string | undefined): MatchOutcome | undefined {
  for (const coding of group.code?.coding ?? []) {
    const outcome = typeof coding.code === 'string' ? OUTCOME_BY_CODE[coding.code] : undefined;
    if (outcome !== undefined && (coding.system === undefined || coding.system === MATCH_RESULT_SYSTEM))
      return outcome;
  }
  return parameter === undefined ? undefined : OUTCOME_BY_PARAMETER[parameter];
}

function matchParametersReference(
  extensions: Array<Record<string, unknown>> | undefined,
): string | undefined {
  const extension = extensions?.find((e) => e.url === MATCH_PARAMETERS_EXTENSION);
  const reference = (extension?.valueReference as { reference?: unknown } | undefined)?.reference;
  return typeof reference === 'string' ? reference : undefined;
}

function submittedPatient(resource: Record<string, unknown> | undefined): SubmittedPatient {
  if (!resource) return {};
  const name = (resource.name as Array<{ family?: unknown; given?: unknown }> | undefined)?.[0];
  return {
    ...(typeof resource.id === 'string' ? { id: resource.id } : {}),
    ...(typeof name?.family === 'string' ? { family: name.family } : {}),
    ...(Array.isArray(name?.given)
      ? { given: name.given.filter((g): g is string => typeof g === 'string') }
      : {}),
    ...(typeof resource.birthDate === 'string' ? { birthDate: resource.birthDate } : {}),
  };
}
