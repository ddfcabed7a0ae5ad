import { INSTANT_PATTERN } from './instant.ts';
import { R4_RESOURCE_TYPES } from './resource-types.ts';
import { shownValue } from '../../errors/shown-value.ts';

/** A line that holds a FHIR resource worth loading. */
export interface AcceptedLine {
  ok: true;
  line: number;
  resourceType: string;
  id: string;
  versionId: string | null;
  lastUpdated: string | null;
  resource: Record<string, unknown>;
  /** The line exactly as read (without its line ending): what lands in fhir_raw.*.resource. */
  text: string;
}

/** A line that cannot be loaded, and why. It goes to fhir_etl.rejects; the file goes on. */
export interface RejectedLine {
  ok: false;
  line: number;
  reason: string;
  text: string;
  resourceType?: string | undefined;
  id?: string | undefined;
}

export type ParsedLine = AcceptedLine | RejectedLine;

/** Marks a line the length guard cut short; a NUL byte cannot start valid JSON text. */
export const OVERLONG_MARKER = '\u0000';
/** Marks a line that is not valid UTF-8 (see line-length-guard.ts); nor can U+0001 start JSON text. */
export const INVALID_UTF8_MARKER = '\u0001';

/** @see FHIR R4 datatypes: id (2.24.0.1) */
const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;
/** jsonb refuses \u0000 and lone UTF-16 surrogates; catch them here rather than fail the file. */
const JSONB_UNSAFE_ESCAPE =
  /\\u0000|\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}/;

/**
 * Parses one NDJSON line into a resource, or says precisely why it cannot be loaded.
 * Returns undefined for blank lines, which bulk files may end with.
 * @see Bulk Data Access IG: NDJSON output files, one resource per line
 */
export function parseResourceLine(raw: string, line: number): ParsedLine | undefined {
  const text = raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw;
  if (text.length === 0 || /^\s*$/.test(text)) return undefined;
  if (text.startsWith(OVERLONG_MARKER)) return rejectOverlong(text, line);
  if (text.startsWith(INVALID_UTF8_MARKER)) return rejectInvalidUtf8(text, line);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return reject(line, text, `not valid JSON: ${(error as Error).message}`);
  }
  return checkValue(value, text, line);
}

/**
 * Checks a resource already parsed (an entry of a FHIR search page) exactly as a line is
 * checked, without parsing it again: `line` is its position in the batch, and its text is
 * what lands in fhir_raw.
 */
export function checkParsedResource(value: unknown, line: number): ParsedLine {
  return checkValue(value, JSON.stringify(value) ?? 'null', line);
}

function checkValue(value: unknown, text: string, line: number): ParsedLine {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return reject(
      line,
      text,
      `not a JSON object (found ${Array.isArray(value) ? 'an array' : typeof value})`,
    );
  }
  return checkResource(value as Record<string, unknown>, text, line);
}

function checkResource(resource: Record<string, unknown>, text: string, line: number): ParsedLine {
  const { resourceType, id } = resource;
  if (typeof resourceType !== 'string' || resourceType === '') {
    return reject(line, text, 'missing resourceType');
  }
  if (!R4_RESOURCE_TYPES.has(resourceType)) {
    return reject(line, text, `unknown resource type "${resourceType.slice(0, 64)}"`, resourceType);
  }
  if (typeof id !== 'string' || id === '') return reject(line, text, 'missing id', resourceType);
  if (!ID_PATTERN.test(id)) {
    return reject(line, text, `id "${id.slice(0, 80)}" is not a valid FHIR id`, resourceType);
  }
  const meta = resource.meta as { versionId?: unknown; lastUpdated?: unknown } | undefined;
  const lastUpdated = meta?.lastUpdated;
  if (
    lastUpdated !== undefined &&
    (typeof lastUpdated !== 'string' || !INSTANT_PATTERN.test(lastUpdated) || !onTheCalendar(lastUpdated))
  ) {
    return reject(
      line,
      text,
      `meta.lastUpdated "${shownValue(lastUpdated).slice(0, 40)}" is not a FHIR instant`,
      resourceType,
      id,
    );
  }
  const versionId = meta?.versionId;
  if (versionId !== undefined && typeof versionId !== 'string') {
    return reject(line, text, 'meta.versionId is not a string', resourceType, id);
  }
  if (text.includes('\\u') && JSONB_UNSAFE_ESCAPE.test(text)) {
    return reject(
      line,
      text,
      'contains \\u0000 or an unpaired surrogate, which PostgreSQL jsonb cannot store',
      resourceType,
      id,
    );
  }
  return {
    ok: true,
    line,
    resourceType,
    id,
    versionId: versionId ?? null,
    lastUpdated: lastUpdated ?? null,
    resource,
    text,
  };
}

function reject(
  line: number,
  text: string,
  reason: string,
  resourceType?: string,
  id?: string,
): RejectedLine {
  return { ok: false, line, reason, text, resourceType, id };
}

/** The length guard replaced the line by `\0<bytes>\0<limit>\0<prefix>`; see line-length-guard.ts. */
function rejectOverlong(text: string, line: number): RejectedLine {
  const [, bytes, limit, prefix] = text.split(OVERLONG_MARKER);
  return reject(line, prefix ?? '', `line of ${bytes} bytes or more exceeds the limit of ${limit} bytes`);
}

/** The guard replaced the line by `\x01<offset in line>\x01<offset in file>\x01<prefix>`. */
function rejectInvalidUtf8(text: string, line: number): RejectedLine {
  const [, inLine, inFile, prefix] = text.split(INVALID_UTF8_MARKER);
  return reject(
    line,
    prefix ?? '',
    `not valid UTF-8: byte ${inLine} of the line (byte ${inFile} of the file, counted from 0) is not UTF-8; the line is not loaded rather than have the byte replaced by U+FFFD`,
  );
}

/** An instant's date exists: the pattern admits 2023-02-30 and year 0000, which PostgreSQL refuses. */
function onTheCalendar(instant: string): boolean {
  const year = Number(instant.slice(0, 4));
  const month = Number(instant.slice(5, 7));
  const day = Number(instant.slice(8, 10));
  return year > 0 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}
