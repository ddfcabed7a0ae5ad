import { SYSTEM, VITALS } from './codes.ts';
import { memberResources } from './member-resources.ts';
import { type MemberSummary, memberSummary, patientId, resourceId, STREAM } from './members.ts';
import { rngFor } from './prng.ts';
import { concept, type FhirResource, reference } from './resource.ts';
import { attributionGroup, GROUPS, SHARED_LAST_UPDATED, sharedResources } from './shared.ts';
import { instant } from './time.ts';

/**
 * The sandbox's data over time. Step 0 is the generated record; each `advance()` is one step that
 * updates, deletes and adds a few resources, stamped with the server clock. Any step can be read
 * back, so a bulk export keeps seeing the data as of its kick-off while time moves on.
 */
export interface Dataset {
  readonly patients: number;
  readonly seed: number;
  /** The latest step; 0 until the first advance(). */
  step(): number;
  members(): MemberSummary[];
  /** A member's resources as of a step (latest by default). */
  resourcesOf(index: number, step?: number): FhirResource[];
  /** Resources deleted from a member's record after `since` (epoch ms), up to a step. */
  deletedOf(index: number, since: number, step?: number): Array<{ type: string; id: string; at: number }>;
  shared(): FhirResource[];
  groups(): FhirResource[];
  /** A strictly increasing server instant (ms): kick-offs and changes never share one. */
  tick(): number;
  advance(): void;
}

interface Change {
  step: number;
  at: number;
  kind: 'update' | 'delete' | 'add';
  id: string;
  resource?: FhirResource;
}

/** Changed, deleted and added resources per step, as shares of the patients (at least one each). */
const UPDATE_SHARE = 0.1;
const DELETE_SHARE = 0.03;
const ADD_SHARE = 0.05;
const UPDATABLE = new Set([
  'Patient',
  'Coverage',
  'Encounter',
  'Condition',
  'Observation',
  'ExplanationOfBenefit',
]);
const DELETABLE = new Set(['Observation', 'Immunization', 'AllergyIntolerance']);

export function createDataset(options: { patients: number; seed: number; now: () => number }): Dataset {
  const { patients, seed, now } = options;
  const changes = new Map<number, Change[]>();
  let step = 0;
  let lastTick = 0;
  let members: MemberSummary[] | undefined;

  const tick = () => {
    lastTick = Math.max(now(), lastTick + 1);
    return lastTick;
  };

  const resourcesOf = (index: number, at = step): FhirResource[] => {
    const resources = memberResources(seed, index);
    for (const change of changes.get(index) ?? []) {
      if (change.step > at) break;
      const position = resources.findIndex((r) => r.id === change.id);
      if (change.kind === 'add' && change.resource) resources.push(change.resource);
      else if (change.kind === 'update' && change.resource && position >= 0)
        resources[position] = change.resource;
      else if (change.kind === 'delete' && position >= 0) resources.splice(position, 1);
    }
    return resources;
  };

  const record = (index: number, change: Change) => {
    const list = changes.get(index) ?? [];
    list.push(change);
    changes.set(index, list);
  };

  return {
    patients,
    seed,
    step: () => step,
    members: () => (members ??= Array.from({ length: patients }, (_, index) => memberSummary(seed, index))),
    resourcesOf,
    deletedOf(index, since, at = step) {
      return (changes.get(index) ?? [])
        .filter((c) => c.kind === 'delete' && c.step <= at && c.at > since)
        .map((c) => ({ type: c.resource?.resourceType ?? '', id: c.id, at: c.at }));
    },
    shared: () => [...sharedResources(seed)],
    groups: () =>
      Array.from({ length: GROUPS }, (_, n) => attributionGroup(seed, n, patients, SHARED_LAST_UPDATED)),
    tick,
    advance() {
      step += 1;
      const at = tick();
      const rng = rngFor(seed, step, STREAM.advance);
      const draws = (share: number) => Math.max(1, Math.round(patients * share));
      for (let n = 0; n < draws(UPDATE_SHARE); n++) {
        const index = rng.int(0, patients - 1);
        const candidates = resourcesOf(index).filter((r) => UPDATABLE.has(r.resourceType));
        const target = candidates.length > 0 ? rng.pick(candidates) : undefined;
        if (target) record(index, { step, at, kind: 'update', id: target.id, resource: updated(target, at) });
      }
      for (let n = 0; n < draws(DELETE_SHARE); n++) {
        const index = rng.int(0, patients - 1);
        const candidates = resourcesOf(index).filter((r) => DELETABLE.has(r.resourceType));
        const target = candidates.length > 0 ? rng.pick(candidates) : undefined;
        if (target) record(index, { step, at, kind: 'delete', id: target.id, resource: target });
      }
      for (let n = 0; n < draws(ADD_SHARE); n++) {
        const index = rng.int(0, patients - 1);
        const id = resourceId('obs', index, `s${step}n${n}`);
        const value = rng.int(55, 100);
        record(index, { step, at, kind: 'add', id, resource: newHeartRate(id, index, at, value) });
      }
    },
  };
}

/** The next version of a resource: versionId + 1, lastUpdated = the change's instant, and a small real edit. */
function updated(resource: FhirResource, at: number): FhirResource {
  const next: FhirResource = structuredClone(resource);
  next.meta = { ...next.meta, versionId: String(Number(next.meta.versionId) + 1), lastUpdated: instant(at) };
  switch (next.resourceType) {
    case 'Patient':
      next.telecom = [
        { system: 'phone', value: `(617) 555-${String(at % 10_000).padStart(4, '0')}`, use: 'mobile' },
        ...((next.telecom as Array<{ system?: string }> | undefined) ?? []).filter(
          (t) => t.system === 'email',
        ),
      ];
      break;
    case 'Condition':
      next.clinicalStatus = concept(
        'http://terminology.hl7.org/CodeSystem/condition-clinical',
        'resolved',
        'Resolved',
      );
      next.abatementDateTime = instant(at);
      break;
    case 'Observation':
      next.status = 'amended';
      break;
    case 'Coverage':
      next.period = { ...(next.period as object), end: instant(at).slice(0, 10) };
      break;
    case 'Encounter':
      next.status = 'finished';
      next.length = { value: 30, unit: 'min', system: SYSTEM.ucum, code: 'min' };
      break;
    case 'ExplanationOfBenefit':
      next.status = 'active';
      next.outcome = 'complete';
      break;
  }
  return next;
}

function newHeartRate(id: string, index: number, at: number, value: number): FhirResource {
  const heartRate = VITALS[0]!;
  return {
    resourceType: 'Observation',
    id,
    meta: {
      versionId: '1',
      lastUpdated: instant(at),
      profile: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-vital-signs'],
    },
    status: 'final',
    category: [
      concept('http://terminology.hl7.org/CodeSystem/observation-category', 'vital-signs', 'Vital Signs'),
    ],
    code: concept(SYSTEM.loinc, heartRate.loinc.code, heartRate.loinc.display),
    subject: reference('Patient', patientId(index)),
    effectiveDateTime: instant(at),
    valueQuantity: { value, unit: '/min', system: SYSTEM.ucum, code: '/min' },
  };
}
