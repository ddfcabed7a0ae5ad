import { FhirEtlError } from '../../errors/index.ts';

/**
 * What can go wrong in a Bulk Data export, each with a stable code. Messages name the URL
 * (credentials redacted by the caller) and quote the server's OperationOutcome when it sent one.
 */

/** The kick-off request was refused: no export was started. */
export class BulkKickOffError extends FhirEtlError {
  constructor(details: { url: string; status?: number; detail?: string }, cause?: unknown) {
    const status = details.status === undefined ? '' : ` (${details.status})`;
    super(
      `the Bulk Data kick-off at ${details.url} failed${status}${details.detail ? `: ${details.detail}` : ''}`,
      {
        code: 'BULK_KICKOFF_FAILED',
        context: details,
        cause,
      },
    );
  }
}

/** The server says the export job itself failed (a non-transient error on the status URL). */
export class BulkExportFailedError extends FhirEtlError {
  readonly status: number;

  constructor(details: { statusUrl: string; status: number; detail?: string }) {
    super(
      `the Bulk Data export at ${details.statusUrl} failed (${details.status})${details.detail ? `: ${details.detail}` : ''}`,
      { code: 'BULK_EXPORT_FAILED', context: details },
    );
    this.status = details.status;
  }
}

/** The status URL is unknown to the server (404) or gone (410): the export was cancelled, expired or forgotten. */
export class BulkExportNotFoundError extends FhirEtlError {
  constructor(details: { statusUrl: string; status?: number; detail?: string }) {
    super(
      `the Bulk Data export at ${details.statusUrl} no longer exists (${details.status ?? 404})${details.detail ? `: ${details.detail}` : ''}`,
      { code: 'BULK_EXPORT_NOT_FOUND', context: details },
    );
  }
}

/**
 * The status URL kept failing transiently (5xx, gateway errors) for every poll of a run's
 * budget: the server is unwell, which says nothing about the export. It stays resumable.
 */
export class BulkStatusUnavailableError extends FhirEtlError {
  constructor(details: { statusUrl: string; status: number; polls: number; detail?: string }) {
    super(
      `the Bulk Data status URL ${details.statusUrl} answered ${details.status} to ${details.polls} polls in a row` +
        `${details.detail ? ` (${details.detail})` : ''}; the export was kept and the next run resumes it`,
      { code: 'BULK_STATUS_UNAVAILABLE', context: details },
    );
  }
}

/**
 * Every file of the export answered 410 Gone, fresh URLs from the status URL included: the
 * server expired the export. It is ended `expired` and a new one kicked off with the same `_since`.
 */
export class BulkExportExpiredError extends FhirEtlError {
  constructor(details: { exportId: number; url: string; detail: string }) {
    super(`export ${details.exportId} expired on the server: ${details.detail} (${details.url})`, {
      code: 'BULK_EXPORT_EXPIRED',
      context: details,
    });
  }
}

/**
 * The server did not finish preparing the export within export.timeoutMinutes of this run's
 * polling. The export is then cancelled (DELETE) and ended: the next run kicks off a new one.
 */
export class BulkExportTimeoutError extends FhirEtlError {
  constructor(details: { statusUrl: string; minutes: number; progress?: string }) {
    const progress = details.progress ? ` (last progress: "${details.progress}")` : '';
    super(
      `the Bulk Data export at ${details.statusUrl} did not complete within ${details.minutes} minutes of polling${progress}; ` +
        'it was cancelled and the next run kicks off a new one (raise export.timeoutMinutes to wait longer)',
      { code: 'BULK_EXPORT_TIMEOUT', context: details },
    );
  }
}

/**
 * The export's error files hold issues of severity `error` or `fatal`: resources the server
 * failed to export. Everything else was loaded, but the watermark stays where it was, so the
 * next run asks for them again.
 *
 * @see Bulk Data STU2 export.html#response---complete-status (error)
 */
export class BulkExportIssuesError extends FhirEtlError {
  constructor(details: { exportId: number; issues: number; watermark?: string }) {
    const kept = details.watermark === undefined ? '' : ` (it stays at ${details.watermark})`;
    super(
      `export ${details.exportId}: the server reported ${details.issues} issue(s) of severity error or fatal in its error files; ` +
        `the data files were loaded, but the checkpoint did not advance${kept}, so the next run exports them again. List them with ` +
        `\`fhir-etl status\` or SELECT * FROM fhir_etl.bulk_errors WHERE export_id = ${details.exportId}`,
      { code: 'BULK_EXPORT_ISSUES', context: details },
    );
  }
}

/** The completion response is not a manifest this client can act on. */
export class BulkManifestError extends FhirEtlError {
  constructor(details: { url: string; problem: string }, cause?: unknown) {
    super(`the Bulk Data manifest from ${details.url} is invalid: ${details.problem}`, {
      code: 'BULK_INVALID_MANIFEST',
      context: details,
      cause,
    });
  }
}

/**
 * A manifest that requires the access token lists a file on an origin the token is not for.
 * Nothing was sent there: a manifest must never be a way to leak the token.
 *
 * @see Bulk Data STU3 export.html#file-request
 */
export class BulkFileOriginError extends FhirEtlError {
  constructor(details: { url: string; origin: string; allowedOrigins: string[] }) {
    super(
      `security: the manifest requires the access token for a file on ${details.origin} (${details.url}), ` +
        `but the token may only go to ${details.allowedOrigins.join(', ')}; nothing was sent there. ` +
        `If ${new URL(details.origin).host} is the server's own file host, list it in export.tokenHosts`,
      { code: 'BULK_FILE_ORIGIN_REFUSED', context: details },
    );
  }
}

/** An output file's URL expired (410 Gone): the manifest must be fetched again for fresh URLs. */
export class BulkFileExpiredError extends FhirEtlError {
  constructor(details: { url: string }) {
    super(`the Bulk Data file ${details.url} has expired (410 Gone)`, {
      code: 'BULK_FILE_EXPIRED',
      context: details,
    });
  }
}

/** A file could not be downloaded and loaded whole, after every retry. */
export class BulkFileError extends FhirEtlError {
  constructor(
    details: { url: string; kind: string; resourceType: string; attempts: number; reason: string },
    cause: unknown,
  ) {
    super(
      `the Bulk Data ${details.kind} file ${details.url} (${details.resourceType}) could not be loaded after ` +
        `${details.attempts} attempt(s): ${details.reason}; nothing of it was committed`,
      { code: 'BULK_FILE_FAILED', context: details, cause },
    );
  }
}
