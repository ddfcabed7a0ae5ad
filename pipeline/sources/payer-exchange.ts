import type { PayerExchangeSourceConfig } from '../../config/index.ts';
import { tokenProviderFor } from '../../connectors/auth/index.ts';
import { type BearerAuth, createHttpClient, type HttpClient, originOf } from '../../connectors/http/index.ts';
import { runBulkExchange } from '../exchange/bulk-exchange.ts';
import type { ExchangeContext } from '../exchange/context.ts';
import { runSingleExchange } from '../exchange/single-exchange.ts';
import { recordRun, type SourceRunResult } from '../run-recorder.ts';
import type { SourceRunContext } from './types.ts';

/**
 * A `kind: payer-exchange` source (CMS-0057-F Payer-to-Payer with a prior payer), recorded as
 * one fhir_etl.runs record: members matched (in bulk, or one at a time in single mode), then the
 * matched members' data pulled and loaded through the shared load path.
 */
export async function runPayerExchangeSource(
  ctx: SourceRunContext,
  source: PayerExchangeSourceConfig,
  /** The clock and the wait between polls; injected by tests. */
  timing: Pick<ExchangeContext, 'sleep'> & { now?: () => number } = {},
): Promise<SourceRunResult> {
  return recordRun(ctx.load.db, { command: 'run', source: source.name }, async (run) => {
    const client = createHttpClient({ logger: ctx.logger });
    const exchange: ExchangeContext = {
      source,
      load: ctx.load,
      client,
      ...withAuth(source, client),
      run,
      logger: ctx.logger,
      ...(ctx.progress ? { progress: ctx.progress } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      fullRefresh: ctx.request.fullRefresh === true,
      now: timing.now ?? Date.now,
      ...(timing.sleep ? { sleep: timing.sleep } : {}),
    };
    await (source.mode === 'single' ? runSingleExchange(exchange) : runBulkExchange(exchange));
  });
}

/** The system token and where it may go: the prior payer's origin plus export.tokenHosts. */
function withAuth(source: PayerExchangeSourceConfig, client: HttpClient): { auth?: BearerAuth } {
  const provider = tokenProviderFor(source.auth, source.baseUrl, { http: client });
  if (!provider) return {};
  return {
    auth: {
      provider,
      allowedOrigins: [originOf(source.baseUrl), ...source.export.tokenHosts.map((host) => originOf(host))],
    },
  };
}
