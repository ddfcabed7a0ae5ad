import type { Logger } from 'pino';
import type { LoadedConfig, SourceConfig } from '../../config/index.ts';
import type { LoadContext } from '../ingest.ts';
import type { ProgressReporter } from '../progress.ts';
import type { SourceRunResult } from '../run-recorder.ts';

/** How `fhir-etl run` (and the scheduler) asked for this run. */
export interface RunRequest {
  /** Ignore the source's incremental checkpoint and extract everything. */
  fullRefresh?: boolean;
  /** Extract what changed since this FHIR instant instead of since the checkpoint. */
  since?: string;
  /** Bulk sources: extract only what changed up to this FHIR instant (`_until`), overriding `export.until`. */
  until?: string;
}

export interface SourceRunContext {
  load: LoadContext;
  config: LoadedConfig;
  logger: Logger;
  request: RunRequest;
  progress?: ProgressReporter;
  /** Graceful shutdown: stop starting work; what is in flight commits or rolls back whole. */
  signal?: AbortSignal;
}

/** Extracts one configured source and loads it, recorded as one run. */
export type SourceRunner<S extends SourceConfig = SourceConfig> = (
  ctx: SourceRunContext,
  source: S,
) => Promise<SourceRunResult>;
