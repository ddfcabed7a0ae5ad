/**
 * lowBoundary() / highBoundary() without a precision argument, for decimals,
 * dates, dateTimes and times.
 *
 * Replaces the fhirpath.js built-ins for two reasons the SQL on FHIR suite checks:
 * a dateTime without a time zone takes the widest offsets (+14:00 for the low
 * boundary, -12:00 for the high one), and a JSON decimal that parsed to an
 * integer value (`1.0` becomes `1` in JavaScript, losing its trailing zero) is
 * given one decimal place of precision, so `1.0.lowBoundary()` is 0.95.
 * @see FHIRPath 3.0, "lowBoundary", "highBoundary" (http://hl7.org/fhirpath/#lowboundaryprecision-integer-decimal--date--datetime--time)
 */
export function boundary(value: unknown, type: string | undefined, which: 'low' | 'high'): unknown {
  if (typeof value === 'number') return type === 'integer' ? value : decimalBoundary(value, which);
  if (typeof value !== 'string') return undefined;
  if (type === 'time') return timeBoundary(value, which);
  if (type === 'date') return dateBoundary(value, which);
  if (type === 'dateTime' || type === 'instant' || value.includes('T')) return dateTimeBoundary(value, which);
  return undefined;
}

function decimalBoundary(value: number, which: 'low' | 'high'): number {
  const text = String(value);
  const dot = text.indexOf('.');
  const places = dot < 0 ? 1 : text.length - dot - 1;
  const half = 0.5 * 10 ** -places;
  return Number((which === 'low' ? value - half : value + half).toFixed(places + 1));
}

function dateBoundary(value: string, which: 'low' | 'high'): string {
  const [year, month, day] = value.split('-');
  if (day !== undefined) return value;
  if (month !== undefined) {
    if (which === 'low') return `${year}-${month}-01`;
    const last = new Date(Date.UTC(Number(year), Number(month), 0)).getUTCDate();
    return `${year}-${month}-${String(last).padStart(2, '0')}`;
  }
  return which === 'low' ? `${year}-01-01` : `${year}-12-31`;
}

function timeBoundary(value: string, which: 'low' | 'high'): string {
  const [hour, minute, second] = value.split(':');
  const m = minute ?? (which === 'low' ? '00' : '59');
  if (second === undefined) return `${hour}:${m}:${which === 'low' ? '00.000' : '59.999'}`;
  if (second.includes('.')) return value;
  return `${hour}:${m}:${second}.${which === 'low' ? '000' : '999'}`;
}

function dateTimeBoundary(value: string, which: 'low' | 'high'): string {
  const t = value.indexOf('T');
  const date = dateBoundary(t < 0 ? value : value.slice(0, t), which);
  const rest = t < 0 ? '' : value.slice(t + 1);
  const zone = /(Z|[+-]\d\d:\d\d)$/.exec(rest)?.[0];
  const time = zone === undefined ? rest : rest.slice(0, rest.length - zone.length);
  const fullTime =
    time === '' ? (which === 'low' ? '00:00:00.000' : '23:59:59.999') : timeBoundary(time, which);
  return `${date}T${fullTime}${zone ?? (which === 'low' ? '+14:00' : '-12:00')}`;
}
