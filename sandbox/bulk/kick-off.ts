import { FhirRequestError } from '../errors.ts';
import { GENERATED_TYPES } from '../data/resource.ts';
import { compileSearch, dateRange, type ResourceMatcher } from '../search-params.ts';
import { shownValue } from '../../errors/shown-value.ts';

/**
 * Reads a Bulk Data kick-off: parameters from the query (GET) or a Parameters body (POST),
 * repeated parameters treated as comma-joined values.
 * @see Bulk Data STU2 export.html#query-parameters; Da Vinci ATR 2.1.0 davinci-data-export
 */
export interface ExportRequest {
  types: string[];
  since?: number;
  /** Per type, filters OR-ed together; a type without filters is exported whole. */
  filters: Map<string, ResourceMatcher[]>;
  /** Patient ids from `patient` (POST only); undefined means everyone in scope. */
  patientIds?: Set<string>;
  exportType?: string;
}

export const EXPORT_TYPES: ReadonlyArray<string> = GENERATED_TYPES;
const OUTPUT_FORMATS = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);
const EXPORT_TYPE_PREFIX = 'hl7.fhir.us.davinci-pdex#';
const PDEX_EXPORT_TYPES = new Set([
  'provider-delta',
  'provider-download',
  'provider-snapshot',
  'payertopayer',
]);

export function parseKickOff(
  parameters: Array<[string, string]>,
  options: { post: boolean; operation: '$export' | '$davinci-data-export' },
): ExportRequest {
  const values = (name: string) => parameters.filter(([n]) => n === name).flatMap(([, v]) => v.split(','));
  const known = new Set([
    '_type',
    '_since',
    '_typeFilter',
    '_outputFormat',
    'patient',
    'exportType',
    '_elements',
  ]);
  for (const [name] of parameters) {
    if (!known.has(name))
      throw new FhirRequestError(400, 'not-supported', `kick-off parameter ${name} is not supported`);
  }
  if (values('_elements').length > 0)
    throw new FhirRequestError(400, 'not-supported', '_elements is not supported');
  const format = values('_outputFormat')[0];
  if (format !== undefined && !OUTPUT_FORMATS.has(format)) {
    throw new FhirRequestError(
      400,
      'not-supported',
      `_outputFormat ${format} is not supported; use application/fhir+ndjson`,
    );
  }
  const types = values('_type')
    .map((t) => t.trim())
    .filter(Boolean);
  for (const type of types) {
    if (!EXPORT_TYPES.includes(type))
      throw new FhirRequestError(400, 'not-supported', `_type ${type} is not exported by this server`);
  }
  const request: ExportRequest = {
    types: types.length > 0 ? [...new Set(types)] : [...EXPORT_TYPES],
    filters: typeFilters(parameters),
  };
  const since = values('_since')[0];
  if (since !== undefined) {
    const range = dateRange(since);
    if (!range) throw new FhirRequestError(400, 'invalid', `_since ${since} is not a FHIR instant`);
    request.since = range[0];
  }
  const patients = values('patient');
  if (patients.length > 0) {
    if (!options.post)
      throw new FhirRequestError(400, 'invalid', 'the patient parameter is only accepted by POST kick-off');
    request.patientIds = new Set(patients.map((p) => p.replace(/^.*Patient\//, '')));
  }
  const exportType = values('exportType')[0];
  if (exportType !== undefined) {
    if (options.operation !== '$davinci-data-export') {
      throw new FhirRequestError(400, 'not-supported', 'exportType belongs to $davinci-data-export');
    }
    const code = exportType.startsWith(EXPORT_TYPE_PREFIX) ? exportType.slice(EXPORT_TYPE_PREFIX.length) : '';
    if (!PDEX_EXPORT_TYPES.has(code))
      throw new FhirRequestError(400, 'not-supported', `exportType ${exportType} is not supported`);
    if (code === 'provider-delta' && request.since === undefined) {
      throw new FhirRequestError(
        400,
        'required',
        'exportType provider-delta requires _since (PDex §pdex-363)',
      );
    }
    request.exportType = exportType;
  }
  return request;
}

/** `_typeFilter=Type?search` values: several for one type are OR-ed. */
function typeFilters(parameters: Array<[string, string]>): Map<string, ResourceMatcher[]> {
  const filters = new Map<string, ResourceMatcher[]>();
  for (const [name, value] of parameters) {
    if (name !== '_typeFilter') continue;
    // A comma separates filters, except inside a filter's own query string where it separates values:
    // split on commas that are followed by `Type?`.
    for (const filter of value.split(/,(?=[A-Z][A-Za-z]+\?)/)) {
      const question = filter.indexOf('?');
      const type = filter.slice(0, question);
      if (question < 0 || !EXPORT_TYPES.includes(type)) {
        throw new FhirRequestError(
          400,
          'invalid',
          `_typeFilter ${filter} is not Type?search for an exported type`,
        );
      }
      const matcher = compileSearch(type, [...new URLSearchParams(filter.slice(question + 1))]);
      filters.set(type, [...(filters.get(type) ?? []), matcher]);
    }
  }
  return filters;
}

/** Kick-off parameters from a FHIR Parameters resource. */
export function parametersOf(body: unknown): Array<[string, string]> {
  if (body === undefined || body === null || body === '') return [];
  const resource = body as { resourceType?: string; parameter?: Array<Record<string, unknown>> };
  if (resource.resourceType !== 'Parameters') {
    throw new FhirRequestError(400, 'invalid', 'a POST kick-off body must be a Parameters resource');
  }
  return (resource.parameter ?? []).map((p) => {
    const name = shownValue(p.name ?? '');
    const key = Object.keys(p).find((k) => k.startsWith('value'));
    const value = key ? p[key] : undefined;
    if (key === 'valueReference') return [name, String((value as { reference?: string })?.reference ?? '')];
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new FhirRequestError(400, 'invalid', `parameter ${name} has no value`);
    }
    return [name, String(value)];
  });
}
