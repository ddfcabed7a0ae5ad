import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { SendInputError } from './errors.ts';

/** A resource to send, and where it was read (file and line, or Bundle entry). */
export interface SendableResource {
  resource: { resourceType: string; id?: string; identifier?: unknown } & Record<string, unknown>;
  origin: string;
}

/**
 * The resources of the files given to `fhir-etl send`: NDJSON (`.ndjson`, one per line) or
 * JSON (a Bundle, whose entries are sent one by one, or a single resource).
 * @see FHIR R4 nd-json.html, bundle.html
 */
export async function* readSendableResources(paths: readonly string[]): AsyncGenerator<SendableResource> {
  for (const path of paths) {
    if (/\.ndjson$/i.test(path)) yield* ndjsonResources(path);
    else yield* jsonResources(path);
  }
}

async function* ndjsonResources(path: string): AsyncGenerator<SendableResource> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    yield {
      resource: resourceOf(parse(text, `${path}:${line}`), `${path}:${line}`),
      origin: `${path}:${line}`,
    };
  }
}

async function* jsonResources(path: string): AsyncGenerator<SendableResource> {
  const document = parse(await readFile(path, 'utf8'), path) as { resourceType?: unknown; entry?: unknown };
  if (document?.resourceType !== 'Bundle') {
    yield { resource: resourceOf(document, path), origin: path };
    return;
  }
  const entries = Array.isArray(document.entry) ? (document.entry as Array<{ resource?: unknown }>) : [];
  for (const [index, entry] of entries.entries()) {
    const origin = `${path} entry ${index}`;
    yield { resource: resourceOf(entry.resource, origin), origin };
  }
}

function parse(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new SendInputError(where, `not JSON (${(cause as Error).message})`, cause);
  }
}

function resourceOf(value: unknown, where: string): SendableResource['resource'] {
  const type = (value as { resourceType?: unknown } | null)?.resourceType;
  if (typeof type !== 'string' || !/^[A-Z][A-Za-z]+$/.test(type)) {
    throw new SendInputError(where, 'not a FHIR resource (no resourceType)');
  }
  return value as SendableResource['resource'];
}
