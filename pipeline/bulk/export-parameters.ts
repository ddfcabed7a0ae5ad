import type { BulkSourceConfig } from '../../config/index.ts';
import type { ExportParameters } from '../../connectors/bulk/index.ts';
import type { RunRequest } from '../sources/types.ts';

/**
 * The `_since` of the next kick-off: `--since` when given, nothing on `--full-refresh`, else
 * the transactionTime of the last complete export (the server's clock, never ours).
 *
 * @see Bulk Data STU2 export.html#query-parameters (_since)
 */
export function exportSince(request: RunRequest, checkpoint: string | undefined): string | undefined {
  if (request.since !== undefined) return request.since;
  if (request.fullRefresh) return undefined;
  return checkpoint;
}

/**
 * The `_until` of the next kick-off: `--until` when given, else the source's `export.until`.
 *
 * @see Bulk Data STU3 export.html#query-parameters (_until)
 */
export function exportUntil(request: RunRequest, source: BulkSourceConfig): string | undefined {
  return request.until ?? source.export.until;
}

/** The kick-off parameters a configured source asks for. */
export function exportParameters(
  source: BulkSourceConfig,
  window: { since: string | undefined; until: string | undefined },
): ExportParameters {
  const { since, until } = window;
  const e = source.export;
  return {
    level: e.level,
    ...(e.groupId === undefined ? {} : { groupId: e.groupId }),
    operation: e.operation,
    ...(e.exportType === undefined ? {} : { exportType: e.exportType }),
    outputFormat: e.outputFormat,
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
    ...(e.types === undefined ? {} : { types: e.types }),
    ...(e.typeFilters === undefined ? {} : { typeFilters: e.typeFilters }),
    ...(e.elements === undefined ? {} : { elements: e.elements }),
    ...(e.patients === undefined ? {} : { patients: e.patients }),
  };
}
