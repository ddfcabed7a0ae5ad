import type { BulkSourceConfig, PayerExchangeSourceConfig } from '../../config/index.ts';
import type { BearerAuth } from '../../connectors/http/index.ts';
import { exportFingerprint } from '../bulk/export-parameters.ts';
import { findResumableExport } from '../bulk/export-store.ts';
import { type BulkExportOutcome, runBulkExport } from '../bulk/run-export.ts';
import type { RunRequest } from '../sources/types.ts';
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
export async function runPullExport(
  ctx: ExchangeContext,
  pull: PullRecord,
  target: { level: 'group'; groupId: string } | { level: 'patient' },
  auth: BearerAuth | undefined,
): Promise<BulkExportOutcome> {
  const source = exportSource(ctx.source, pull, target);
  return runBulkExport({
    source,
    load: ctx.load,
    client: ctx.client,
    ...(auth ? { auth } : {}),
    request: pull.kind === 'lookback' ? await lookbackRequest(ctx, source) : { since: pull.since as string },
    run: ctx.run,
    logger: ctx.logger,
    ...(ctx.progress ? { progress: ctx.progress } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(ctx.sleep ? { sleep: ctx.sleep } : {}),
    now: ctx.now,
  });
}

/**
 * A lookback pull sends no `_since`. The Bulk connector never resumes a full refresh, so a
 * lookback export a stopped run left unfinished (the same parameters, kicked off without
 * `_since`) is asked for as a plain run, which resumes it; otherwise as a full refresh, so the
 * source's checkpoint can never lend it a `_since`.
 */
async function lookbackRequest(ctx: ExchangeContext, source: BulkSourceConfig): Promise<RunRequest> {
  const unfinished = await findResumableExport(ctx.load.db, source.name);
  const same = unfinished?.fingerprint === exportFingerprint(source) && unfinished.since === null;
  return same ? {} : { fullRefresh: true };
}
