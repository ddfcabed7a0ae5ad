import { readdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { FhirEtlError } from '../../errors/index.ts';
import { ViewDefinitionError } from './errors.ts';
import type { ViewDefinition } from './types.ts';
import { parseViewDefinition } from './validate.ts';

/** A folder of views could not be listed (missing, not a folder, no permission). */
export class ViewsDirError extends FhirEtlError {
  constructor(message: string, context: { dir: string }, cause?: unknown) {
    super(message, { code: 'VIEWS_DIR_UNREADABLE', context, cause, kind: 'input' });
  }
}

/** One validated ViewDefinition and the file it came from. */
export interface ViewFile {
  /** The table name the view produces (as compileView names it). */
  name: string;
  /** Absolute path of the .json file. */
  file: string;
  definition: ViewDefinition;
}

/** The name compileView gives a view: `name`, else `id`, else the resource type in lower case. */
export function viewName(definition: ViewDefinition): string {
  return (
    definition.name ?? (typeof definition.id === 'string' ? definition.id : definition.resource.toLowerCase())
  );
}

/**
 * Reads and validates every `*.json` ViewDefinition in `dirs`, in the order given (pass the
 * shipped folder first, then the user's), files sorted by name within a folder. Two views with
 * the same name are refused with a ViewDefinitionError naming both files.
 */
export async function loadViewFiles(dirs: readonly string[]): Promise<ViewFile[]> {
  const views: ViewFile[] = [];
  const byName = new Map<string, string>();
  const seenDirs = new Set<string>();
  for (const dir of dirs) {
    const absolute = resolve(dir);
    // The same folder named twice (e.g. --views schemas/views) is read once, not a clash with itself.
    if (seenDirs.has(absolute)) continue;
    seenDirs.add(absolute);
    for (const file of await jsonFiles(absolute)) {
      const definition = await readDefinition(file);
      const name = viewName(definition);
      const first = byName.get(name);
      if (first !== undefined) {
        throw new ViewDefinitionError(`view name '${name}' is already used by ${first}`, {
          view: name,
          path: 'name',
          origin: file,
        });
      }
      byName.set(name, file);
      views.push({ name, file, definition });
    }
  }
  return views;
}

/** The ViewDefinitions of `dirs` (see loadViewFiles), without their file names. */
export async function loadViewDefinitions(dirs: readonly string[]): Promise<ViewDefinition[]> {
  return (await loadViewFiles(dirs)).map((view) => view.definition);
}

async function jsonFiles(dir: string): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a folder' : String(error);
    throw new ViewsDirError(`views folder ${dir} ${why}`, { dir }, error);
  }
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.json'))
    .map((entry) => entry.name)
    .sort()
    .map((name) => join(dir, name));
}

/**
 * The definition last read from each file, with the text it was read from. A process that
 * lives on (the scheduler between its fires, a test file between its runs) reads the same
 * files again and again, and validating a definition parses every FHIRPath expression in it
 * (about 0.1 s for the 19 shipped views); a file whose text is unchanged is not parsed again.
 * The definitions are frozen: one object serves every caller.
 */
const readBefore = new Map<string, { text: string; definition: ViewDefinition }>();

async function readDefinition(file: string): Promise<ViewDefinition> {
  const text = await readFile(file, 'utf8');
  const before = readBefore.get(file);
  if (before?.text === text) return before.definition;
  const definition = deepFreeze(parseViewDefinition(parseJson(file, text), file));
  readBefore.set(file, { text, definition });
  return definition;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ViewDefinitionError(
      `not valid JSON: ${(error as Error).message}`,
      { view: basename(file, '.json'), path: '', origin: file },
      error,
    );
  }
}
