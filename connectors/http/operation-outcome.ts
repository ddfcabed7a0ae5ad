/**
 * Reading the OperationOutcome a FHIR server sends with an error, whether it arrives parsed or
 * as the raw body text (which may not be FHIR at all: a proxy's HTML page, a plain message).
 *
 * @see FHIR R4 operationoutcome.html
 */

interface OutcomeIssue {
  severity?: unknown;
  code?: unknown;
  diagnostics?: unknown;
  details?: { text?: unknown };
}

/**
 * The human-readable text of an OperationOutcome: each issue's diagnostics, else its
 * details.text, else its code, joined with "; ". Undefined when the body is not an OperationOutcome.
 */
export function operationOutcomeText(body: unknown): string | undefined {
  const issues = outcomeIssues(body);
  if (!issues) return undefined;
  const texts = issues.map(issueText).filter((text): text is string => text !== undefined);
  return texts.length > 0 ? texts.join('; ') : undefined;
}

/**
 * Whether an OperationOutcome says the failure is transient: only this request failed, and
 * the same request may succeed later (a status poll, unlike a failed export job).
 *
 * @see Bulk Data STU2 export.html#response---error-status-1
 */
export function isTransientOutcome(body: unknown): boolean {
  return outcomeIssues(body)?.some((issue) => issue.code === 'transient') ?? false;
}

function outcomeIssues(body: unknown): OutcomeIssue[] | undefined {
  const parsed = typeof body === 'string' ? parseJson(body) : body;
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const outcome = parsed as { resourceType?: unknown; issue?: unknown };
  if (outcome.resourceType !== 'OperationOutcome' || !Array.isArray(outcome.issue)) return undefined;
  return outcome.issue.filter((issue): issue is OutcomeIssue => typeof issue === 'object' && issue !== null);
}

function issueText(issue: OutcomeIssue): string | undefined {
  for (const text of [issue.diagnostics, issue.details?.text, issue.code]) {
    if (typeof text === 'string' && text.trim() !== '') return text.trim();
  }
  return undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
