import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { cliArgs, SOURCE_FOLDERS } from './helpers/cli-entry.ts';

/**
 * The tests start the compiled command only when it is as new as every source; after an edit
 * they start the sources, so no test exercises a stale build. Either build's record counts:
 * `npm run build` writes dist/.tsbuildinfo, the tsc that ava runs dist/tsconfig.tsbuildinfo.
 */
const SOURCE_TIME = new Date('2026-12-01T10:00:00Z');
const BEFORE = new Date('2026-12-01T09:00:00Z');
const AFTER = new Date('2026-12-01T11:00:00Z');

/** A project folder: one source file written at SOURCE_TIME, and the given files of dist/. */
function project(dist: Record<string, Date>): string {
  const root = mkdtempSync(join(tmpdir(), 'fhir-etl-cli-entry-'));
  for (const folder of SOURCE_FOLDERS) mkdirSync(join(root, folder));
  touch(join(root, 'loaders', 'load.ts'), SOURCE_TIME);
  mkdirSync(join(root, 'dist', 'bin'), { recursive: true });
  for (const [path, time] of Object.entries(dist)) touch(join(root, 'dist', path), time);
  return root;
}

function touch(path: string, time: Date): void {
  writeFileSync(path, '');
  utimesSync(path, time, time);
}

const kind = (args: string[]) => (args.length === 1 ? 'compiled' : 'sources');

test('the compiled command is used after the build the tests run (dist/tsconfig.tsbuildinfo)', (t) => {
  const root = project({ 'bin/fhir-etl.js': AFTER, 'tsconfig.tsbuildinfo': AFTER });
  t.deepEqual(cliArgs(root), [join(root, 'dist', 'bin', 'fhir-etl.js')]);
});

test('the compiled command is used after npm run build (dist/.tsbuildinfo)', (t) => {
  const root = project({ 'bin/fhir-etl.js': AFTER, '.tsbuildinfo': AFTER });
  t.is(kind(cliArgs(root)), 'compiled');
});

test('a source edited after both builds runs from the sources', (t) => {
  const root = project({ 'bin/fhir-etl.js': BEFORE, '.tsbuildinfo': BEFORE, 'tsconfig.tsbuildinfo': BEFORE });
  const args = cliArgs(root);
  t.is(kind(args), 'sources');
  t.is(args.at(-1), join(root, 'bin', 'fhir-etl.ts'));
});

test('without a compiled command, or a record of a build, the sources run', (t) => {
  t.is(kind(cliArgs(project({ 'tsconfig.tsbuildinfo': AFTER }))), 'sources');
  t.is(kind(cliArgs(project({ 'bin/fhir-etl.js': AFTER }))), 'sources');
});
