import type { PayerExchangeSourceConfig } from '../../config/index.ts';

/**
 * The first pull's date-of-service window: CMS-0057-F asks the new payer for at least 5 years
 * of data by date of service. `_since` filters on meta.lastUpdated, so the window goes in
 * `_typeFilter`, one filter per type (`Encounter?date=ge2021-06-01`, ...), each widened by the
 * configured `include` filters on its type (several filters on one type are OR-ed). Types without
 * a date-of-service parameter come whole (older data is allowed). A server that cannot apply a
 * filter must refuse it (400), never ignore it.
 *
 * @see /work/shared/reference/standards.md section 1.2 (data window and filtering, pdex-180d)
 * @see Bulk Data STU2 export.html#query-parameters (_typeFilter)
 */
export function lookbackFilters(exportConfig: PayerExchangeSourceConfig['export'], from: string): string[] {
  const wanted = exportConfig.types === undefined ? undefined : new Set(exportConfig.types);
  const keep = (type: string) => wanted === undefined || wanted.has(type);
  return [
    ...Object.entries(exportConfig.dateOfService)
      .filter(([type]) => keep(type))
      .map(([type, parameter]) => `${type}?${parameter}=ge${from}`),
    ...exportConfig.include.filter((filter) => keep(filter.slice(0, filter.indexOf('?')))),
  ];
}

/** The first date of service the lookback asks for: `years` before `now` (UTC), as YYYY-MM-DD. */
export function lookbackStart(now: number, years: number): string {
  const d = new Date(now);
  d.setUTCFullYear(d.getUTCFullYear() - years);
  return d.toISOString().slice(0, 10);
}
