import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../shipped/index.ts';

/**
 * Files of the project the tests read (fixtures, examples, docs, the sources themselves),
 * found from the project root rather than from the test module: the tests run compiled, from
 * dist/test/, where a path relative to the module would point into dist/.
 */
export const projectRoot: string = packageRoot;

/** The absolute path of a file or folder, given from the project root. */
export function projectPath(...segments: string[]): string {
  return join(projectRoot, ...segments);
}

/** The version package.json gives, read from the file itself. */
export function projectVersion(): string {
  return (JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { version: string }).version;
}
