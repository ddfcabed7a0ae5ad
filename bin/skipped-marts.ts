import type { SkippedMart } from '../loaders/index.ts';

/**
 * What a load or rebuild says of the analytics marts it had to leave out (the view tables lack
 * what they read): each mart and why, and how the view tables get their columns back.
 */
export function describeSkippedMarts(skipped: readonly SkippedMart[]): string {
  return [
    `${skipped.length} analytics ${skipped.length === 1 ? 'mart' : 'marts'} left out, the view tables lacking what they read ` +
      "(`fhir-etl rebuild` gives each view table its view's columns again):",
    ...skipped.map(({ mart, reason }) => `  analytics.${mart}: ${reason}`),
  ].join('\n');
}
