/** The web console (`fhir-etl ui`): pipeline health, member records (rendered and raw FHIR), analytics. */
export { buildConsole, type ConsoleOptions, type RunningConsole, startConsole } from './server.ts';
export { AUTH_ENV, type ConsoleAuth, consoleAuthFromEnv } from './security/auth.ts';
export { isLoopback } from './security/loopback.ts';
export { requireAuthBeyondLoopback } from './security/auth.ts';
export * from './errors.ts';
