import { createRequire } from 'node:module';
import type fhirpath from 'fhirpath';

const requireFromHere = createRequire(import.meta.url);
let loaded: typeof fhirpath | undefined;

/**
 * fhirpath.js, loaded on first use. Every shipped view compiles to the fast
 * engine, so most processes never need it, and loading it costs about 0.1 s
 * of CPU at every start of the command. Loaded synchronously (its CommonJS
 * build) because a fast expression may fall back to it in the middle of an
 * evaluation.
 */
export function fhirpathJs(): typeof fhirpath {
  loaded ??= requireFromHere('fhirpath') as typeof fhirpath;
  return loaded;
}
