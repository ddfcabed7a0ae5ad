/**
 * The key of a fire: its scheduled time truncated to the cron's resolution (the second for a
 * 6-field expression, the minute for a 5-field one). Every replica computes the same key for
 * the same fire whatever its clock's milliseconds, so the key can be claimed exactly once.
 */
export function fireTime(scheduledAt: Date, expression: string): Date {
  const resolutionMs = cronFields(expression) === 6 ? 1_000 : 60_000;
  return new Date(Math.floor(scheduledAt.getTime() / resolutionMs) * resolutionMs);
}

function cronFields(expression: string): number {
  return expression.trim().split(/\s+/).length;
}
