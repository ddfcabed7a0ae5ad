/**
 * How long a `Retry-After` header asks the client to wait, in milliseconds, or undefined when
 * the header is absent or unreadable. Both forms are read: delay-seconds and an HTTP-date
 * (a date in the past means "now"). The value is NOT clamped here: servers send absurd
 * values (7200 s, or an epoch timestamp such as 1767225600 in the seconds form), and each
 * caller clamps to its own ceiling so it can say so in a log.
 *
 * @see RFC 9110 section 10.2.3 (Retry-After)
 * @see Bulk Data STU2 export.html#bulk-data-status-request (Retry-After on 202 and 429)
 */
export function retryAfterMs(
  header: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (header === null || header === undefined) return undefined;
  const value = header.trim();
  // delay-seconds is 1*DIGIT; a fraction is off-spec but harmless to honour.
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  // An HTTP-date always names a day or month; without a letter, Date.parse would read "120" as a year.
  if (!/[a-z]/i.test(value)) return undefined;
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
