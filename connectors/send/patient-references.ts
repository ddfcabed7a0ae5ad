import { patientCompartment } from '../../schemas/index.ts';

/**
 * Whose record a resource to send is part of: its references to patients. A member-scoped send
 * must never file one member's data under another member, so every resource is checked
 * against the member before anything is POSTed.
 *
 * The patient elements of each type come from the FHIR R4 Patient compartment (Condition:
 * subject, asserter; Coverage: beneficiary, subscriber, policyHolder, payor; ...). A reference
 * there to a Patient, or to something that cannot be told apart from one (a `urn:uuid:`, an
 * identifier only), is the resource's patient; so is a literal `Patient/<id>` reference
 * anywhere else in it (an extension, a contained resource).
 * @see FHIR R4 compartmentdefinition-patient.html, references.html
 */
export interface PatientReference {
  /** Where in the resource: `subject`, `participant[1].actor`, `contained[0].subject`. */
  path: string;
  /** As written: `Patient/pt-1`, `https://x/fhir/Patient/pt-1`, `urn:uuid:...`, `identifier 01-testmemid`. */
  written: string;
  /** The Patient id referenced, when the reference names one. */
  patientId?: string;
  /** The identifier value, for a reference by identifier only. */
  identifier?: string;
}

/** The member a send is for: their member id, and their Patient id as the server knows it. */
export interface SendMember {
  memberId: string;
  patientId: string;
}

/** A resource that must not be sent for the member, and why. */
export interface Refusal {
  reason: string;
  /** It references no patient at all (allowed only with an explicit flag). */
  noPatientReference: boolean;
}

/** The patient references of a resource (see above). */
export function patientReferences(resource: Record<string, unknown>): PatientReference[] {
  const found = new Map<string, PatientReference>();
  const elements = patientCompartment[String(resource.resourceType)] ?? [];
  for (const element of elements) {
    for (const { path, value } of valuesAt(resource, element.split('.'), '')) {
      const reference = asPatientReference(value, path, resource, true);
      if (reference) found.set(path, reference);
    }
  }
  for (const { path, value } of referencesIn(resource, '')) {
    if (found.has(path)) continue;
    const reference = asPatientReference(value, path, resource, false);
    if (reference) found.set(path, reference);
  }
  return [...found.values()];
}

/**
 * Why `resource` must not be sent for `member`, or undefined when it may: every patient it
 * references is the member's Patient (`Patient/<member's id>`, relative or absolute, or by
 * the member id as identifier). A Patient resource is the member's own when its id is theirs.
 */
export function refusal(
  resource: { resourceType: string; id?: unknown },
  references: readonly PatientReference[],
  member: SendMember,
): Refusal | undefined {
  const whose = `member ${member.memberId} (Patient/${member.patientId})`;
  const others = references.filter(
    (r) =>
      r.patientId !== member.patientId && !(r.identifier !== undefined && r.identifier === member.memberId),
  );
  if (others.length > 0) {
    const [first] = others;
    const what = others.map((r) => `${r.path} references ${r.written}`).join(', ');
    return {
      reason: `${what}, not ${whose}${first?.patientId === undefined ? ' (a reference that cannot be checked is refused: send Patient/<id>)' : ''}`,
      noPatientReference: false,
    };
  }
  if (references.length > 0) return undefined;
  if (resource.resourceType === 'Patient' && resource.id === member.patientId) return undefined;
  return {
    reason: `references no patient, so nothing shows it belongs to ${whose}`,
    noPatientReference: true,
  };
}

/** A literal reference: `[base/]Type/id[/_history/vid]`. @see FHIR R4 references.html#literal */
const LITERAL = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/**
 * `value` as a patient reference, or undefined when it references something else. In a
 * patient element (`inElement`) a reference whose target cannot be told (urn:uuid, an
 * identifier only) counts, unless its `type` says it is no Patient; elsewhere only a literal
 * Patient reference does.
 */
function asPatientReference(
  value: unknown,
  path: string,
  resource: Record<string, unknown>,
  inElement: boolean,
): PatientReference | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const { reference, type, identifier } = value as {
    reference?: unknown;
    type?: unknown;
    identifier?: unknown;
  };
  const typedOther = typeof type === 'string' && type !== 'Patient' && !/\/Patient$/.test(type);
  if (typeof reference === 'string') {
    if (reference.startsWith('#')) {
      const contained = containedResource(resource, reference.slice(1));
      if (contained?.resourceType !== 'Patient') return undefined;
      return { path, written: `a contained Patient (${reference})` };
    }
    const literal = LITERAL.exec(reference);
    if (literal)
      return literal[1] === 'Patient' ? { path, written: reference, patientId: literal[2] } : undefined;
    return inElement && !typedOther ? { path, written: reference } : undefined;
  }
  const identifierValue = (identifier as { value?: unknown } | undefined)?.value;
  if (inElement && !typedOther && typeof identifierValue === 'string') {
    return { path, written: `identifier ${identifierValue}`, identifier: identifierValue };
  }
  return undefined;
}

function containedResource(
  resource: Record<string, unknown>,
  id: string,
): { resourceType?: unknown } | undefined {
  const contained = Array.isArray(resource.contained) ? (resource.contained as Array<{ id?: unknown }>) : [];
  return contained.find((c) => c?.id === id) as { resourceType?: unknown } | undefined;
}

/** The values at a dotted element path, arrays flattened, each with its indexed path. */
function* valuesAt(node: unknown, steps: string[], at: string): Generator<{ path: string; value: unknown }> {
  if (Array.isArray(node)) {
    for (const [i, item] of node.entries()) yield* valuesAt(item, steps, `${at}[${i}]`);
    return;
  }
  if (steps.length === 0) {
    yield { path: at, value: node };
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const [step, ...rest] = steps as [string, ...string[]];
  yield* valuesAt((node as Record<string, unknown>)[step], rest, at ? `${at}.${step}` : step);
}

/** Every object with a string `reference` anywhere in the resource, with its path. */
function* referencesIn(node: unknown, at: string): Generator<{ path: string; value: unknown }> {
  if (Array.isArray(node)) {
    for (const [i, item] of node.entries()) yield* referencesIn(item, `${at}[${i}]`);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  if (typeof (node as { reference?: unknown }).reference === 'string') yield { path: at, value: node };
  for (const [key, value] of Object.entries(node)) {
    if (value !== null && typeof value === 'object') yield* referencesIn(value, at ? `${at}.${key}` : key);
  }
}
