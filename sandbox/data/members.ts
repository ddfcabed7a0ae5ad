import { FAMILY, GIVEN_FEMALE, GIVEN_MALE, PLACES, STREETS } from './codes.ts';
import { rngFor } from './prng.ts';

/**
 * Members: who they are (demographics), by index. The first four are the named test members of
 * 1upHealth's Payer-to-Payer sandbox; the rest are drawn from the seed. Demographics use their own
 * random stream, so listing 100k members never generates their clinical data.
 */

export interface MemberSummary {
  memberId: string;
  patientId: string;
  name: string;
  birthDate: string;
  postalCode: string;
}

export interface Demographics extends MemberSummary {
  index: number;
  given: string;
  family: string;
  gender: 'female' | 'male';
  city: string;
  state: string;
  line: string;
  phone: string;
}

/** 1up's Payer-to-Payer sandbox members (name, birth date, member ID, postal code). */
export const TEST_MEMBERS: ReadonlyArray<
  Pick<
    Demographics,
    'given' | 'family' | 'gender' | 'birthDate' | 'memberId' | 'postalCode' | 'city' | 'state'
  >
> = [
  {
    given: 'Mayte822',
    family: 'Venegas795',
    gender: 'female',
    birthDate: '2011-01-04',
    memberId: '01-testmemid',
    postalCode: '02116',
    city: 'Boston',
    state: 'MA',
  },
  {
    given: 'Sherie778',
    family: 'Fahey393',
    gender: 'female',
    birthDate: '1974-04-29',
    memberId: '02-testmemid',
    postalCode: '01810',
    city: 'Andover',
    state: 'MA',
  },
  {
    given: 'Delmar187',
    family: 'Tromp100',
    gender: 'male',
    birthDate: '1961-05-15',
    memberId: '03-testmemid',
    postalCode: '02109',
    city: 'Boston',
    state: 'MA',
  },
  {
    given: 'George',
    family: 'Bluth',
    gender: 'male',
    birthDate: '1943-01-01',
    memberId: '04-testmemid',
    postalCode: '15239',
    city: 'Pittsburgh',
    state: 'PA',
  },
];

/** Random-stream purposes, so each concern of a member draws independently. */
/**
 * `detail` draws the fields added after the first release (email, linked prior authorizations,
 * coordination of benefits, ...), so that adding them left every `clinical` draw where it was.
 */
export const STREAM = { demographics: 1, clinical: 2, advance: 3, shared: 4, detail: 5 } as const;

export function patientId(index: number): string {
  return `pt-${pad(index)}`;
}

/** `Type-prefix-000123-4`: the member index is inside every id, so a read finds its member at once. */
export function resourceId(prefix: string, index: number, n: number | string): string {
  return `${prefix}-${pad(index)}-${n}`;
}

/** The member index a resource id belongs to, or undefined for ids the generator did not make. */
export function memberIndexOf(id: string): number | undefined {
  const match = /^[a-z]+-(\d{6})(?:-|$)/.exec(id);
  return match ? Number(match[1]) : undefined;
}

/** The index of a member, by member id (01-testmemid, MB00000012) or Patient id (pt-000012). */
export function memberIndexById(id: string, patients: number): number | undefined {
  const named = TEST_MEMBERS.findIndex((m) => m.memberId === id);
  if (named >= 0) return named;
  const match = /^(?:MB|pt-)(\d{6,8})$/.exec(id);
  if (!match) return undefined;
  const index = Number(match[1]);
  return index < patients ? index : undefined;
}

export function demographics(seed: number, index: number): Demographics {
  const rng = rngFor(seed, index, STREAM.demographics);
  const named = TEST_MEMBERS[index];
  const gender = named?.gender ?? (rng.chance(0.5) ? 'female' : 'male');
  const given = named?.given ?? rng.pick(gender === 'female' ? GIVEN_FEMALE : GIVEN_MALE);
  const family = named?.family ?? rng.pick(FAMILY);
  const place = rng.pick(PLACES);
  const birthDate =
    named?.birthDate ?? `${rng.int(1938, 2020)}-${pad2(rng.int(1, 12))}-${pad2(rng.int(1, 28))}`;
  const area = PLACES.find((p) => p.city === named?.city)?.phoneArea ?? place.phoneArea;
  return {
    index,
    memberId: named?.memberId ?? `MB${String(index).padStart(8, '0')}`,
    patientId: patientId(index),
    name: `${given} ${family}`,
    given,
    family,
    gender,
    birthDate,
    postalCode: named?.postalCode ?? place.postalCode,
    city: named?.city ?? place.city,
    state: named?.state ?? place.state,
    line: `${rng.int(1, 999)} ${rng.pick(STREETS)}`,
    phone: `(${area}) 555-${String(rng.int(100, 9999)).padStart(4, '0')}`,
  };
}

export function memberSummary(seed: number, index: number): MemberSummary {
  const { memberId, patientId, name, birthDate, postalCode } = demographics(seed, index);
  return { memberId, patientId, name, birthDate, postalCode };
}

function pad(index: number): string {
  return String(index).padStart(6, '0');
}

export function pad2(n: number): string {
  return String(n).padStart(2, '0');
}
