import { createReadStream } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { FhirEtlError } from '../errors/index.ts';

/** A file (or stdin) to load, and what identifies it across runs. */
export interface InputFile {
  /** As shown to the user and stored in rejects. */
  path: string;
  /** (real path, size, mtime): a file changed since it was loaded is loaded again. */
  fileKey: string;
  bytes: number | undefined;
  open(): Readable;
}

export class InputError extends FhirEtlError {
  constructor(message: string, path: string, cause?: unknown) {
    super(message, { code: 'INPUT_UNREADABLE', context: { path }, cause, kind: 'input' });
  }
}

const NDJSON_FILE = /\.(ndjson|jsonl)(\.gz)?$/i;

/**
 * Expands the paths given to `fhir-etl load`: files as given, folders to the NDJSON files
 * beneath them (sorted, so runs are repeatable), `-` to standard input. Every path is
 * checked before anything loads, so a typo fails the command before it writes a row.
 */
export async function expandInputs(paths: string[], runId: () => number): Promise<InputFile[]> {
  const files: InputFile[] = [];
  for (const path of paths) {
    if (path === '-') {
      files.push({
        path: 'stdin',
        get fileKey() {
          return `stdin:run-${runId()}`;
        },
        bytes: undefined,
        open: () => process.stdin,
      });
      continue;
    }
    const info = await stat(path).catch((cause: NodeJS.ErrnoException) => {
      throw new InputError(
        `cannot read ${path}: ${cause.code === 'ENOENT' ? 'no such file or folder' : cause.message}`,
        path,
        cause,
      );
    });
    if (info.isDirectory()) files.push(...(await filesUnder(path)));
    else files.push(await inputFile(path));
  }
  return files;
}

async function filesUnder(folder: string): Promise<InputFile[]> {
  const entries = await readdir(folder, { withFileTypes: true, recursive: true }).catch((cause) => {
    throw new InputError(`cannot read folder ${folder}: ${(cause as Error).message}`, folder, cause);
  });
  const paths = entries
    .filter((entry) => entry.isFile() && NDJSON_FILE.test(entry.name))
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
    .sort();
  return Promise.all(paths.map(inputFile));
}

async function inputFile(path: string): Promise<InputFile> {
  const real = await realpath(path);
  const info = await stat(real);
  return {
    path,
    fileKey: `${real}:${info.size}:${Math.trunc(info.mtimeMs)}`,
    bytes: info.size,
    open: () => createReadStream(resolve(real), { highWaterMark: 256 * 1024 }),
  };
}
