import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { currentRun } from './runs.ts';

export type { Logger };

/** Keys whose values never reach a log line, at the top level or one object down. */
const SECRET_KEYS = [
  'password',
  'secret',
  'clientSecret',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'code_verifier',
  'authorization',
  'privateKey',
];

/**
 * Structured logs on stderr: JSON lines only with `--json`; otherwise readable lines, coloured
 * on a terminal and plain when stderr is a file or a pipe (a CronJob's log), and only warnings
 * and errors unless `level` asks for more, since the progress and summary speak there. Every
 * line logged inside a run carries its run id (and the schedule fire that started it),
 * whichever connector logs it. Anything that looks like a secret is redacted wherever it
 * appears in a log object.
 */
export function createLogger(options: { json: boolean; level?: string }): Logger {
  return pino(
    {
      level: options.level ?? (options.json ? 'info' : 'warn'),
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      mixin: runFields,
      redact: {
        paths: [
          ...SECRET_KEYS,
          ...SECRET_KEYS.map((key) => `*.${key}`),
          '*.headers.authorization',
          'auth.clientSecret',
          '*.auth.clientSecret',
        ],
        censor: '[redacted]',
      },
    },
    destination(options.json),
  );
}

/** The run the current async context belongs to, as fields of the log line. */
function runFields(): Record<string, unknown> {
  const run = currentRun();
  if (!run) return {};
  return {
    ...(run.runId === undefined ? {} : { runId: run.runId }),
    ...(run.fireId === undefined ? {} : { fireId: run.fireId }),
    trigger: run.trigger,
  };
}

function destination(json: boolean): DestinationStream {
  if (json) return pino.destination({ dest: 2, sync: true });
  // In the main thread and synchronous, like the JSON destination: a line logged just
  // before the process exits is never lost.
  return pretty({
    destination: 2,
    sync: true,
    colorize: Boolean(process.stderr.isTTY),
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'event,source',
    singleLine: true,
    messageFormat: '{if source}[{source}] {end}{msg}',
  });
}
