/**
 * The issues of one OperationOutcome line of an error file, flattened for fhir_etl.bulk_errors.
 *
 * @see Bulk Data STU2 export.html#response---complete-status (error)
 * @see FHIR R4 operationoutcome.html
 */
export interface OutcomeIssue {
  severity?: string;
  code?: string;
  diagnostics?: string;
  /** The resource type the issue is about, when its expression, location or text names one. */
  resourceType?: string;
}

export function outcomeIssues(outcome: unknown): OutcomeIssue[] {
  if (typeof outcome !== 'object' || outcome === null) return [];
  const issues = (outcome as { issue?: unknown }).issue;
  if (!Array.isArray(issues)) return [];
  return issues.map((raw: unknown) => {
    const issue = (raw ?? {}) as Record<string, unknown>;
    const diagnostics =
      text(issue.diagnostics) ?? text((issue.details as { text?: unknown } | undefined)?.text);
    const resourceType = mentionedType([issue.expression, issue.location, diagnostics]);
    return {
      ...(text(issue.severity) ? { severity: text(issue.severity) } : {}),
      ...(text(issue.code) ? { code: text(issue.code) } : {}),
      ...(diagnostics ? { diagnostics } : {}),
      ...(resourceType ? { resourceType } : {}),
    };
  });
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** The first `Type` of an expression such as `Patient.name` or a text such as `Patient/123 ...`. */
function mentionedType(candidates: unknown[]): string | undefined {
  for (const candidate of candidates.flat()) {
    if (typeof candidate !== 'string') continue;
    const match = /\b([A-Z][a-z]+(?:[A-Z][a-z]+)*)(?=[./])/.exec(candidate);
    if (match) return match[1];
  }
  return undefined;
}
