/** How values read on a page: dates in UTC, money with two decimals, empty for unknown. */

export function day(value: Date | string | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value.slice(0, 10);
  return value.toISOString().slice(0, 10);
}

export function time(value: Date | null | undefined): string {
  return value ? `${value.toISOString().replace('T', ' ').slice(0, 19)} UTC` : '';
}

export function money(value: number | string | null | undefined): string {
  if (value === null || value === undefined || value === '') return '';
  return Number(value).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

export function count(value: number | string | null | undefined): string {
  if (value === null || value === undefined) return '';
  return Number(value).toLocaleString('en-US');
}

/** 93784 -> "1d 2h 3m"; under a minute in seconds. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  const s = Math.round(seconds);
  const parts: Array<[number, string]> = [
    [Math.floor(s / 86400), 'd'],
    [Math.floor((s % 86400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
  ];
  return parts
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n}${unit}`)
    .join(' ');
}
