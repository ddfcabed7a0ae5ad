import { constants } from 'node:os';
import type { Logger } from '../logger.ts';

/** A graceful stop asked for by the operator (SIGTERM from systemd, Kubernetes or docker stop; Ctrl-C). */
export interface Shutdown {
  signal: AbortSignal;
  /** Stops listening for the signals (when the command ends on its own). */
  dispose(): void;
}

const SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/**
 * The first SIGTERM or SIGINT aborts `signal`: no new run starts and the files being loaded
 * commit or roll back whole. A second one exits at once; the open transactions then roll back
 * when their connections close, so even that leaves no half-loaded file.
 */
export function stopOnSignals(logger: Logger): Shutdown {
  const controller = new AbortController();
  const onSignal = (received: NodeJS.Signals) => {
    if (!controller.signal.aborted) {
      logger.info(
        { event: 'shutdown.requested', signal: received },
        `${received}: stopping gracefully (again to exit at once)`,
      );
      controller.abort(new Error(`stopped by ${received}`));
      return;
    }
    logger.warn({ event: 'shutdown.forced', signal: received }, `${received} again: exiting now`);
    process.exit(128 + (constants.signals[received] ?? 0));
  };
  for (const name of SIGNALS) process.on(name, onSignal);
  return {
    signal: controller.signal,
    dispose() {
      for (const name of SIGNALS) process.off(name, onSignal);
    },
  };
}
