/**
 * The HL7 Bulk Data client, one protocol step per function: each step that sends has a pure
 * `process…` partner that reads the response, so the rules are testable with plain Responses.
 *
 * @see Bulk Data STU2 export.html (tolerant of STU1, STU3 and the STU4 ballot)
 */
export { type AwaitManifestOptions, awaitManifest, type PollReport } from './await-manifest.ts';
export { deleteExport } from './delete-export.ts';
export { type DeletedReference, deletedReferences } from './deleted-entries.ts';
export * from './errors.ts';
export { assertFileOrigins, fileAuth, processFileResponse, requestFile } from './file-request.ts';
export {
  type ExportParameters,
  kickOff,
  kickOffEndpoint,
  type KickOffMethod,
  type KickOffRequest,
  kickOffRequest,
  type KickOffResult,
  parametersResource,
  processKickOffResponse,
} from './kick-off.ts';
export { type Manifest, type ManifestFile, mergeManifestPages, processManifest } from './manifest.ts';
export { type OutcomeIssue, outcomeIssues } from './outcome-issues.ts';
export { nextPollDelay, type PollDelay } from './poll-interval.ts';
export { redactStatusUrl } from './redact-status-url.ts';
export { pollStatus, processStatusResponse, type StatusResult } from './status.ts';
export { TruncatedBodyError, truncationGuard } from './truncation-guard.ts';
