import { createReadStream } from 'node:fs';
import { access, constants, readFile, stat } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { readLines } from '../../transforms/ndjson/index.ts';
import { OVERLONG_MARKER } from '../../transforms/ndjson/parse-line.ts';
import { SendInputError } from './errors.ts';

/** A resource to send, and where it was read (file and line, or Bundle entry). */
export interface SendableResource {
  resource: { resourceType: string; id?: string; identifier?: unknown } & Record<string, unknown>;
  origin: string;
}

export interface ReadSendableOptions {
  /** NDJSON lines longer than this fail the send without being held in memory (default 64 MiB). */
  maxLineBytes?: number;
}

/** The same bound `fhir-etl load` applies by default. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

/** NDJSON by name; its content is gunzipped when it starts with the gzip magic bytes. */
const NDJSON_FILE = /\.(ndjson|jsonl)(\.gz)?$/i;

/**
 * The resources of the files given to `fhir-etl send`: NDJSON (`.ndjson`, `.ndjson.gz`, one per
 * line) or JSON (a Bundle, whose entries are sent one by one, or a single resource). Every path
 * is checked before the first resource is yielded, so a missing or unreadable file fails the
 * send before anything is POSTed (the caller POSTs only what it has been given).
 * @see FHIR R4 nd-json.html, bundle.html
 */
export async function* readSendableResources(
  paths: readonly string[],
  options: ReadSendableOptions = {},
): AsyncGenerator<SendableResource> {
  await checkReadable(paths);
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  for (const path of paths) {
    if (NDJSON_FILE.test(path)) yield* ndjsonResources(path, maxLineBytes);
    else yield* jsonResources(path);
  }
}

/** Each path must be a readable file; the first that is not fails with its path named. */
async function checkReadable(paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    try {
      const info = await stat(path);
      if (!info.isFile())
        throw new SendInputError(path, 'not a file (give NDJSON or Bundle files, not a folder)');
      await access(path, constants.R_OK);
    } catch (error) {
      if (error instanceof SendInputError) throw error;
      throw unreadable(path, error);
    }
  }
}

function unreadable(path: string, error: unknown): SendInputError {
  const cause = error as NodeJS.ErrnoException;
  const why = cause.code === 'ENOENT' ? 'no such file' : cause.message;
  return new SendInputError(path, `cannot read the file: ${why}`, error);
}

async function* ndjsonResources(path: string, maxLineBytes: number): AsyncGenerator<SendableResource> {
  let line = 0;
  try {
    for await (const raw of readLines(createReadStream(path), { maxLineBytes })) {
      line++;
      const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (text.trim() === '') continue;
      const origin = `${path}:${line}`;
      if (text.startsWith(OVERLONG_MARKER)) throw overlong(origin, text);
      yield { resource: resourceOf(parse(text, origin), origin), origin };
    }
  } catch (error) {
    if (error instanceof SendInputError) throw error;
    // The file changed since the check, or its gzip data is corrupt: name the file.
    throw unreadable(path, error);
  }
}

/** The line-length guard's marker `\0<bytes>\0<limit>\0<prefix>` for a line it cut short. */
function overlong(origin: string, marker: string): SendInputError {
  const [, bytes, limit] = marker.split(OVERLONG_MARKER);
  return new SendInputError(origin, `line of ${bytes} bytes is longer than the limit of ${limit} bytes`);
}

async function* jsonResources(path: string): AsyncGenerator<SendableResource> {
  const document = parse(await readJson(path), path) as { resourceType?: unknown; entry?: unknown };
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

/** A JSON file's text, gunzipped when it starts with the gzip magic bytes (`bundle.json.gz`). */
async function readJson(path: string): Promise<string> {
  try {
    const bytes = await readFile(path);
    const gzip = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
    return (gzip ? gunzipSync(bytes) : bytes).toString('utf8');
  } catch (error) {
    throw unreadable(path, error);
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
