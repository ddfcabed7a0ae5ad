import { BulkManifestError } from './errors.ts';
import { redactStatusUrl } from './redact-status-url.ts';

/**
 * The completion manifest, read tolerantly: STU1 to STU4 shapes, as real servers send them.
 *
 * @see Bulk Data STU2 export.html#response---complete-status
 * @see Bulk Data STU3 export.html#response---complete-status (link paging, outputOrganizedBy)
 */

/** A file the manifest lists. `type` is the resource type (OperationOutcome for error files). */
export interface ManifestFile {
  type: string;
  url: string;
  count?: number;
}

export interface Manifest {
  /** Server time the export's query ran: the watermark for the next `_since`. */
  transactionTime: string;
  requiresAccessToken: boolean;
  /** The kick-off URL as the server saw it (required in STU2/3, removed in STU4). */
  request?: string;
  output: ManifestFile[];
  /** NDJSON Bundles of DELETE entries (sent when `_since` was used). */
  deleted: ManifestFile[];
  /** NDJSON OperationOutcomes: `error` in STU1-3, `outcome` in STU4. */
  error: ManifestFile[];
  /** An object in STU2/3, an array of FHIR Extensions in STU4; kept as sent. */
  extension?: unknown;
  /** The next page of a paged manifest (STU3 `link` with relation `next`). */
  next?: string;
}

/**
 * Validates a manifest body and normalises it. File URLs (and the next link) are made
 * absolute against the URL the manifest came from.
 *
 * @see Bulk Data STU2 export.html#response---complete-status
 */
export function processManifest(body: unknown, manifestUrl: string): Manifest {
  const invalid = (problem: string) => new BulkManifestError({ url: redactStatusUrl(manifestUrl), problem });
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalid('the body is not a JSON object');
  const m = body as Record<string, unknown>;
  if (typeof m.transactionTime !== 'string' || Number.isNaN(Date.parse(m.transactionTime))) {
    throw invalid('transactionTime is missing or not an instant');
  }
  const files = (name: string, value: unknown) => manifestFiles(value, name, manifestUrl, invalid);
  return {
    transactionTime: m.transactionTime,
    // Required by the spec; when a server leaves it out, assume the safer reading: send the
    // token, and only to the allowed origins.
    requiresAccessToken: m.requiresAccessToken !== false,
    ...(typeof m.request === 'string' ? { request: m.request } : {}),
    output: files('output', m.output ?? []),
    deleted: files('deleted', m.deleted ?? []),
    error: files(
      m.error === undefined && m.outcome !== undefined ? 'outcome' : 'error',
      m.error ?? m.outcome ?? [],
    ),
    ...(m.extension === undefined ? {} : { extension: m.extension }),
    ...nextLink(m.link, manifestUrl),
  };
}

/** The pages of one export merged into one manifest: files concatenated, page one's fields kept. */
export function mergeManifestPages(pages: Manifest[]): Manifest {
  const [first, ...rest] = pages;
  if (!first) throw new Error('mergeManifestPages needs at least one page');
  const merged: Manifest = {
    ...first,
    output: [...first.output],
    deleted: [...first.deleted],
    error: [...first.error],
  };
  delete merged.next;
  for (const page of rest) {
    merged.output.push(...page.output);
    merged.deleted.push(...page.deleted);
    merged.error.push(...page.error);
  }
  return merged;
}

function manifestFiles(
  value: unknown,
  name: string,
  manifestUrl: string,
  invalid: (problem: string) => BulkManifestError,
): ManifestFile[] {
  if (!Array.isArray(value)) throw invalid(`${name} is not an array`);
  return value.map((entry: unknown, i) => {
    const file = (entry ?? {}) as Record<string, unknown>;
    if (typeof file.url !== 'string' || file.url === '') throw invalid(`${name}[${i}].url is missing`);
    let url: string;
    try {
      url = new URL(file.url, manifestUrl).href;
    } catch {
      throw invalid(`${name}[${i}].url is not a URL`);
    }
    const type = typeof file.type === 'string' && file.type !== '' ? file.type : defaultType(name);
    return { type, url, ...(typeof file.count === 'number' ? { count: file.count } : {}) };
  });
}

/** Error files are OperationOutcomes; deleted files are Bundles; an output file must say its type. */
function defaultType(name: string): string {
  if (name === 'error' || name === 'outcome') return 'OperationOutcome';
  if (name === 'deleted') return 'Bundle';
  // STU3 `organizeOutputBy` manifests have no type per file: the file holds several.
  return 'Mixed';
}

function nextLink(link: unknown, manifestUrl: string): { next?: string } {
  if (!Array.isArray(link)) return {};
  const next = link.find(
    (l: unknown) => typeof l === 'object' && l !== null && (l as { relation?: unknown }).relation === 'next',
  ) as { url?: unknown } | undefined;
  return typeof next?.url === 'string' ? { next: new URL(next.url, manifestUrl).href } : {};
}
