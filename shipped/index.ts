import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder of fhir-etl's package.json: the project root in a git clone, the package folder
 * when installed. The code runs from two places (the TypeScript sources under tsx, the
 * compiled dist/ otherwise), so files shipped beside the code (migrations, views) are found
 * from here rather than relative to the module that reads them.
 */
export const packageRoot: string = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

/** The absolute path of a file or folder fhir-etl ships, given from the package root. */
export function shippedPath(...segments: string[]): string {
  return join(packageRoot, ...segments);
}

/** The version in package.json, the one `fhir-etl --version` prints. */
export const packageVersion: string = (
  JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }
).version;

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`fhir-etl: no package.json above ${from}`);
  }
}
