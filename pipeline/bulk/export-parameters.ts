import { createHash } from 'node:crypto';
import type { BulkSourceConfig } from '../../config/index.ts';
import type { ExportParameters } from '../../connectors/bulk/index.ts';
import type { RunRequest } from '../sources/types.ts';
import type { Checkpoint } from './checkpoint.ts';

/**
 * The `_since` of the next kick-off: `--since` when given, nothing on `--full-refresh`, else
 * the watermark of the last complete export (the server's clock, never ours), unless that
 * export asked for something else (parametersChanged): its watermark says nothing about the
 * history of a type, Group or filter it did not cover, so the export starts from the beginning.
 *
 * @see Bulk Data STU2 export.html#query-parameters (_since)
 */
export function exportSince(
  request: RunRequest,
  checkpoint: Checkpoint | undefined,
  fingerprint: string,
): string | undefined {
  if (request.since !== undefined) return request.since;
  if (request.fullRefresh) return undefined;
  if (parametersChanged(checkpoint, fingerprint)) return undefined;
  return checkpoint?.watermark;
}

/**
 * The checkpoint was reached with other export parameters than the source now asks for. A
 * checkpoint written before fingerprints existed counts as matching: it is what the old
 * behaviour assumed, and the next complete export records its fingerprint.
 */
export function parametersChanged(checkpoint: Checkpoint | undefined, fingerprint: string): boolean {
  return checkpoint?.fingerprint !== undefined && checkpoint.fingerprint !== fingerprint;
}

/**
 * A fingerprint of the kick-off parameters that define WHAT an export holds: level, Group,
 * operation and exportType, `_type`, `_typeFilter`, `_elements` and `patient`. Not `_since`
 * or `_until` (the window), nor the method or `_outputFormat` (how it is asked and written).
 * Lists are sorted: `_type` and repeated `_typeFilter` are sets (filters on a type are OR-ed).
 *
 * @see Bulk Data STU2 export.html#query-parameters
 */
export function exportFingerprint(source: BulkSourceConfig): string {
  const e = source.export;
  const sorted = (values: string[] | undefined) => (values === undefined ? null : [...values].sort());
  const what = {
    level: e.level,
    groupId: e.groupId ?? null,
    operation: e.operation,
    exportType: e.exportType ?? null,
    types: sorted(e.types),
    typeFilters: sorted(e.typeFilters),
    elements: sorted(e.elements),
    patients: sorted(e.patients),
  };
  return createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 32);
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
