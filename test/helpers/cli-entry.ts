import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './project.ts';

/**
 * How the tests start the fhir-etl command, every one the same way: the compiled
 * dist/bin/fhir-etl.js (what a user runs; `npm test` builds it first) when it is at least as
 * new as every source file, else the TypeScript entry through tsx, so a test run after an
 * edit never exercises a stale build. Spawn `process.execPath` with these arguments first.
 */
/** The folders tsconfig.build.json compiles. */
export const SOURCE_FOLDERS = [
  'bin',
  'errors',
  'config',
  'connectors',
  'transforms',
  'schemas',
  'loaders',
  'pipeline',
  'sandbox',
  'shipped',
  'ui',
];

export const CLI_ARGS: readonly string[] = cliArgs(projectRoot);

/** Which of the two the tests use, for messages. */
export const CLI_KIND: 'compiled' | 'sources' = CLI_ARGS.length === 1 ? 'compiled' : 'sources';

/** The arguments that start the command of the project at `root` (exported for its test). */
export function cliArgs(root: string): string[] {
  const compiled = join(root, 'dist', 'bin', 'fhir-etl.js');
  // Two builds write dist/: `npm run build` (tsconfig.build.json) and the tsc that ava runs
  // before the tests (tsconfig.json); either one's last write counts.
  const built = Math.max(
    modifiedAt(join(root, 'dist', '.tsbuildinfo')) ?? -1,
    modifiedAt(join(root, 'dist', 'tsconfig.tsbuildinfo')) ?? -1,
  );
  if (built >= 0 && modifiedAt(compiled) !== undefined && built >= newestSource(root)) {
    return [compiled];
  }
  // tsx by its resolved address: a test may run the command from a folder of its own (a demo
  // in a temporary folder), where a bare `tsx` would not resolve.
  return ['--import', import.meta.resolve('tsx'), join(root, 'bin', 'fhir-etl.ts')];
}

function newestSource(root: string): number {
  let newest = 0;
  for (const folder of SOURCE_FOLDERS) {
    for (const entry of readdirSync(join(root, folder), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !/\.(ts|json)$/.test(entry.name)) continue;
      newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

function modifiedAt(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}
