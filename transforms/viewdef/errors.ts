import { FhirEtlError } from '../../errors/index.ts';

/**
 * A ViewDefinition that cannot be used: malformed JSON shape, bad column name,
 * FHIRPath syntax error, unknown constant, unionAll branches that disagree.
 * The message names the view and the JSON path inside it.
 */
export class ViewDefinitionError extends FhirEtlError {
  constructor(
    message: string,
    context: { view: string; path: string; origin?: string | undefined },
    cause?: unknown,
  ) {
    const where = context.origin === undefined ? '' : ` (${context.origin})`;
    super(`ViewDefinition '${context.view}'${where} at ${context.path || '(root)'}: ${message}`, {
      code: 'VIEW_INVALID',
      context,
      cause,
      kind: 'input',
    });
  }
}

/**
 * Evaluating a view on a resource failed: fhirpath.js threw, a where clause was not
 * boolean, or a non-collection column yielded several values.
 */
export class ViewEvaluationError extends FhirEtlError {
  constructor(
    message: string,
    context: { view: string; expression: string; resourceType: unknown; resourceId: unknown },
    cause?: unknown,
  ) {
    super(
      `ViewDefinition '${context.view}', expression '${context.expression}', ${String(context.resourceType)}/${String(context.resourceId)}: ${message}`,
      { code: 'VIEW_EVAL_FAILED', context, cause },
    );
  }
}
