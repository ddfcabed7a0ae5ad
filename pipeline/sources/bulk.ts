import type { BulkSourceConfig } from '../../config/index.ts';
import { tokenProviderFor } from '../../connectors/auth/index.ts';
import { type BearerAuth, createHttpClient, originOf } from '../../connectors/http/index.ts';
import { type BulkExportContext, runBulkExport } from '../bulk/run-export.ts';
import { recordRun, type SourceRunResult } from '../run-recorder.ts';
import type { SourceRunContext } from './types.ts';

/**
 * A `kind: bulk` source: one HL7 Bulk Data export (resumed when an earlier run left one
 * unfinished), recorded as one fhir_etl.runs record.
 */
export async function runBulkSource(
  ctx: SourceRunContext,
  source: BulkSourceConfig,
  /** The clock and the wait between polls; injected by tests. */
  timing: Pick<BulkExportContext, 'now' | 'sleep'> = {},
): Promise<SourceRunResult> {
  return recordRun(ctx.load.db, { command: 'run', source: source.name }, async (run) => {
    const client = createHttpClient({ logger: ctx.logger });
    const outcome = await runBulkExport({
      source,
      load: ctx.load,
      client,
      auth: bearerAuth(source, client),
      request: ctx.request,
      run,
      logger: ctx.logger,
      progress: ctx.progress,
      signal: ctx.signal,
      ...timing,
    });
    ctx.logger.info(
      { event: 'bulk.done', ...outcome },
      `export ${outcome.exportId}${outcome.resumed ? ' (resumed)' : ''}: ${outcome.filesLoaded} of ${outcome.files} files loaded, ` +
        `transactionTime ${outcome.transactionTime}${outcome.watermark === outcome.transactionTime ? '' : ` (checkpoint: _until ${outcome.watermark})`}${outcome.errorIssues > 0 ? `, ${outcome.errorIssues} issues in error files (fhir-etl status)` : ''}`,
    );
  });
}

/**
 * The token, and where it may go: the FHIR server's origin plus export.tokenHosts (an
 * explicit allow-list, e.g. the server's own CDN). Undefined for `auth: none`.
 */
export function bearerAuth(
  source: BulkSourceConfig,
  client: ReturnType<typeof createHttpClient>,
): BearerAuth | undefined {
  const provider = tokenProviderFor(source.auth, source.baseUrl, { http: client });
  if (!provider) return undefined;
  return {
    provider,
    allowedOrigins: [originOf(source.baseUrl), ...source.export.tokenHosts.map((host) => originOf(host))],
  };
}
