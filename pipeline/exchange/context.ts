import type { Logger } from 'pino';
import type { PayerExchangeSourceConfig } from '../../config/index.ts';
import type { BearerAuth, HttpClient } from '../../connectors/http/index.ts';
import type { LoadContext } from '../ingest.ts';
import type { ProgressReporter } from '../progress.ts';
import type { RunRecorder } from '../run-recorder.ts';

/** What every step of one exchange run shares. */
export interface ExchangeContext {
  source: PayerExchangeSourceConfig;
  load: LoadContext;
  client: HttpClient;
  /** The source's system token (match, Group export), for the prior payer's origins only. */
  auth?: BearerAuth;
  run: RunRecorder;
  logger: Logger;
  progress?: ProgressReporter;
  signal?: AbortSignal;
  /** `--full-refresh`: the next pull asks for the lookback window again instead of `_since`. */
  fullRefresh: boolean;
  /** The clock consents, Group ages and the lookback are read with (epoch ms); injected by tests. */
  now: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}
