import type { SourceConfig } from '../../config/index.ts';
import type { SourceRunResult } from '../run-recorder.ts';
import { runBulkSource } from './bulk.ts';
import { runFilesSource } from './files.ts';
import { runPayerExchangeSource } from './payer-exchange.ts';
import { runRestSource } from './rest.ts';
import type { SourceRunContext } from './types.ts';

export type { RunRequest, SourceRunContext, SourceRunner } from './types.ts';

/** Runs one configured source with the connector of its kind. */
export async function runSource(ctx: SourceRunContext, source: SourceConfig): Promise<SourceRunResult> {
  switch (source.kind) {
    case 'files':
      return runFilesSource(ctx, source);
    case 'fhir-rest':
      return runRestSource(ctx, source);
    case 'bulk':
      return runBulkSource(ctx, source);
    case 'payer-exchange':
      return runPayerExchangeSource(ctx, source);
    default:
      throw new Error(`sources of kind ${(source as { kind: string }).kind} are not wired yet`);
  }
}
