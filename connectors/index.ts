/**
 * Extract: everything that talks to FHIR servers. The shared HTTP layer and auth here; each
 * connector (bulk, rest) exports its own surface from its folder.
 */
export * from './http/index.ts';
export * from './auth/index.ts';
