import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const r4 = require('fhirpath/fhir-context/r4') as { type2Parent: Record<string, string> };

/**
 * The FHIR R4 resource types, read from the model fhirpath.js ships (every type whose parent
 * is Resource or DomainResource), so the list cannot drift from the evaluator's.
 */
export const R4_RESOURCE_TYPES: ReadonlySet<string> = new Set(
  Object.entries(r4.type2Parent)
    .filter(
      ([name, parent]) => (parent === 'DomainResource' || parent === 'Resource') && name !== 'DomainResource',
    )
    .map(([name]) => name),
);
