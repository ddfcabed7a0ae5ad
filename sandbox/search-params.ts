import { FhirRequestError } from './errors.ts';
import type { FhirResource } from './data/resource.ts';

/**
 * The search parameters the sandbox understands, shared by Payer-to-Payer searches and bulk
 * `_typeFilter`: `_id`, `_lastUpdated`, `identifier`, and per type `status`, `code`, `category`,
 * `date`, `type`, `use`, `service-date`, `onset-date`. Anything else is refused with 400 rather
 * than silently ignored (PDex §pdex-180d asks servers to error on filters they cannot apply).
 * @see FHIR R4 search.html (token and date parameters, prefixes)
 */
export type ResourceMatcher = (resource: FhirResource) => boolean;

type Extract = (resource: FhirResource) => unknown[];
type Kind = 'token' | 'date';

const lastUpdated: Extract = (r) => [r.meta.lastUpdated];
const COMMON: Record<string, [Kind, Extract]> = {
  _id: ['token', (r) => [r.id]],
  _lastUpdated: ['date', lastUpdated],
  identifier: ['token', (r) => list(r.identifier)],
};
const status: [Kind, Extract] = ['token', (r) => [r.status]];
const codeOf = (field: string): [Kind, Extract] => ['token', (r) => [r[field]]];
const categories: [Kind, Extract] = ['token', (r) => list(r.category)];
const dateAt = (read: (r: FhirResource) => unknown): [Kind, Extract] => ['date', (r) => [read(r)]];

const BY_TYPE: Record<string, Record<string, [Kind, Extract]>> = {
  Patient: { birthdate: dateAt((r) => r.birthDate), gender: status },
  Encounter: {
    status,
    type: ['token', (r) => list(r.type)],
    class: ['token', (r) => [r.class]],
    date: dateAt((r) => (r.period as { start?: string })?.start),
  },
  Condition: {
    code: codeOf('code'),
    category: categories,
    'clinical-status': codeOf('clinicalStatus'),
    'onset-date': dateAt((r) => r.onsetDateTime),
  },
  Observation: {
    status,
    code: codeOf('code'),
    category: categories,
    date: dateAt((r) => r.effectiveDateTime),
  },
  Procedure: {
    status,
    code: codeOf('code'),
    date: dateAt((r) => (r.performedPeriod as { start?: string })?.start),
  },
  MedicationRequest: {
    status,
    intent: ['token', (r) => [r.intent]],
    code: codeOf('medicationCodeableConcept'),
    authoredon: dateAt((r) => r.authoredOn),
  },
  AllergyIntolerance: { code: codeOf('code'), 'clinical-status': codeOf('clinicalStatus') },
  Immunization: { status, 'vaccine-code': codeOf('vaccineCode'), date: dateAt((r) => r.occurrenceDateTime) },
  Coverage: { status },
  ExplanationOfBenefit: {
    status,
    use: ['token', (r) => [r.use]],
    type: codeOf('type'),
    'service-date': dateAt((r) => (r.billablePeriod as { start?: string })?.start),
    created: dateAt((r) => r.created),
  },
  Organization: {},
  Practitioner: {},
};

/** Parses `name=value` pairs into one matcher (parameters AND-ed, comma-separated values OR-ed). */
export function compileSearch(type: string, params: Array<[string, string]>): ResourceMatcher {
  const tests = params.map(([name, value]) => compileParameter(type, name, value));
  return (resource) => tests.every((test) => test(resource));
}

export function supportedParameters(type: string): string[] {
  return [...Object.keys(COMMON), ...Object.keys(BY_TYPE[type] ?? {})];
}

function compileParameter(type: string, rawName: string, value: string): ResourceMatcher {
  const [name, modifier] = rawName.split(':') as [string, string | undefined];
  const definition = BY_TYPE[type]?.[name] ?? COMMON[name];
  if (!definition || (modifier !== undefined && modifier !== 'exact')) {
    throw new FhirRequestError(
      400,
      'not-supported',
      `search parameter ${rawName} is not supported for ${type}; supported: ${supportedParameters(type).join(', ')}`,
    );
  }
  const [kind, extract] = definition;
  const alternatives = value.split(',');
  const tests = alternatives.map((alternative) =>
    kind === 'token' ? tokenTest(alternative) : dateTest(rawName, alternative),
  );
  return (resource) => {
    const values = extract(resource).filter((v) => v !== undefined && v !== null);
    return tests.some((test) => values.some(test));
  };
}

/** `[system]|code`, `system|`, or `code`, against strings, Codings, CodeableConcepts and Identifiers. */
function tokenTest(query: string): (value: unknown) => boolean {
  const bar = query.indexOf('|');
  const system = bar >= 0 ? query.slice(0, bar) : undefined;
  const code = bar >= 0 ? query.slice(bar + 1) : query;
  const matches = (s: unknown, c: unknown) =>
    (system === undefined || (system === '' ? s === undefined : s === system)) && (code === '' || c === code);
  return (value) => {
    if (typeof value === 'string') return system === undefined && value === code;
    const v = value as {
      coding?: Array<{ system?: string; code?: string }>;
      system?: string;
      code?: string;
      value?: string;
    };
    if (Array.isArray(v.coding)) return v.coding.some((c) => matches(c.system, c.code));
    if (v.value !== undefined) return matches(v.system, v.value);
    return matches(v.system, v.code);
  };
}

/**
 * `[prefix]date` with eq, ne, gt, ge, lt, le; the value's precision makes a range
 * (2024 = the whole year), and a resource's instant is compared against that range.
 */
function dateTest(name: string, query: string): (value: unknown) => boolean {
  const match = /^(eq|ne|gt|ge|lt|le)?(.+)$/.exec(query);
  const prefix = match?.[1] ?? 'eq';
  const range = match ? dateRange(match[2]!) : undefined;
  if (!range)
    throw new FhirRequestError(
      400,
      'invalid',
      `${name}=${query} is not a [prefix]date (prefixes eq, ne, gt, ge, lt, le)`,
    );
  const [start, end] = range;
  return (value) => {
    if (typeof value !== 'string') return false;
    const at = dateRange(value)?.[0];
    if (at === undefined) return false;
    switch (prefix) {
      case 'gt':
        return at >= end;
      case 'ge':
        return at >= start;
      case 'lt':
        return at < start;
      case 'le':
        return at < end;
      case 'ne':
        return at < start || at >= end;
      default:
        return at >= start && at < end;
    }
  };
}

/** [start, end) in epoch ms of a FHIR date, dateTime or instant at its own precision. */
export function dateRange(text: string): [number, number] | undefined {
  const partial = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(text);
  if (partial) {
    const [y, m, d] = [
      Number(partial[1]),
      partial[2] ? Number(partial[2]) - 1 : undefined,
      partial[3] ? Number(partial[3]) : undefined,
    ];
    const start = Date.UTC(y, m ?? 0, d ?? 1);
    const end =
      d !== undefined
        ? Date.UTC(y, m, d + 1)
        : m !== undefined
          ? Date.UTC(y, m + 1, 1)
          : Date.UTC(y + 1, 0, 1);
    return [start, end];
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text)) return undefined;
  const start = Date.parse(text);
  if (Number.isNaN(start)) return undefined;
  const fraction = /\.(\d+)/.exec(text)?.[1];
  const precision = fraction ? 1 : /T\d{2}:\d{2}:\d{2}/.test(text) ? 1000 : 60_000;
  return [start, start + precision];
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}
