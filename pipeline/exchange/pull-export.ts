import type { BulkSourceConfig, PayerExchangeSourceConfig } from '../../config/index.ts';
import type { BearerAuth } from '../../connectors/http/index.ts';
import { type BulkExportOutcome, runBulkExport } from '../bulk/run-export.ts';
import type { ExchangeContext } from './context.ts';
import type { PullRecord } from './exchange-store.ts';
import { lookbackFilters } from './lookback.ts';

/** PDex: "For Payer-to-Payer Bulk Exchange the exportType field SHALL have the following value". */
export const PAYER_TO_PAYER = 'hl7.fhir.us.davinci-pdex#payertopayer';

/**
 * A pull as the Bulk connector's export of a source: everything that defines it comes from the
 * pull record (the Group, the lookback date, the members it is narrowed to), so a crashed run's
 * export is found again and resumed with the very same parameters (its fingerprint matches).
 */
export function exportSource(
  source: PayerExchangeSourceConfig,
  pull: Pick<PullRecord, 'kind' | 'lookbackFrom' | 'patients'>,
  target: { level: 'group'; groupId: string } | { level: 'patient' },
): BulkSourceConfig {
  const e = source.export;
  const typeFilters =
    pull.kind === 'lookback' && pull.lookbackFrom !== null
      ? lookbackFilters(e, pull.lookbackFrom)
      : undefined;
  return {
    name: source.name,
    kind: 'bulk',
    baseUrl: source.baseUrl,
    auth: source.auth,
    export: {
      ...target,
      ...(target.level === 'group'
        ? { operation: 'davinci-data-export', exportType: PAYER_TO_PAYER }
        : { operation: 'export' }),
      method: 'POST',
      ...(e.types === undefined ? {} : { types: e.types }),
      ...(typeFilters === undefined || typeFilters.length === 0 ? {} : { typeFilters }),
      ...(pull.patients === null ? {} : { patients: pull.patients }),
      outputFormat: 'application/fhir+ndjson',
      tokenHosts: e.tokenHosts,
      concurrency: e.concurrency,
      maxPollIntervalSeconds: e.maxPollIntervalSeconds,
      timeoutMinutes: e.timeoutMinutes,
      errorIssues: e.errorIssues,
    },
  };
}

/**
 * Runs a pull as a Bulk export of the source (resuming the export a crashed run left for the
 * same pull): a lookback pull sends no `_since`, a later pull the recorded one.
 */
export function runPullExport(
  ctx: ExchangeContext,
  pull: PullRecord,
  target: { level: 'group'; groupId: string } | { level: 'patient' },
  auth: BearerAuth | undefined,
): Promise<BulkExportOutcome> {
  return runBulkExport({
    source: exportSource(ctx.source, pull, target),
    load: ctx.load,
    client: ctx.client,
    ...(auth ? { auth } : {}),
    request: pull.kind === 'lookback' ? { fullRefresh: true } : { since: pull.since as string },
    // A lookback pull is resumed with the same parameters: so is its export.
    fullRefreshResumes: true,
    run: ctx.run,
    logger: ctx.logger,
    ...(ctx.progress ? { progress: ctx.progress } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(ctx.sleep ? { sleep: ctx.sleep } : {}),
    now: ctx.now,
  });
}
