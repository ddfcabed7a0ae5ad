import type { BulkSourceConfig, PayerExchangeSourceConfig } from '../../config/index.ts';
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
