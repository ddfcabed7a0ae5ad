import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured logs on stderr: JSON lines with `--json` (or when stderr is no terminal), and
 * only warnings and errors on a terminal, where the progress bar and summary speak instead.
 * Anything that looks like a secret is redacted wherever it appears in a log object.
 */
export function createLogger(options: { json: boolean; level?: string }): Logger {
  return pino(
    {
      level: options.level ?? (options.json ? 'info' : 'warn'),
      base: undefined,
      redact: {
        paths: [
          'password',
          'secret',
          'token',
          'authorization',
          '*.password',
          '*.secret',
          '*.clientSecret',
          '*.access_token',
          '*.refresh_token',
          '*.authorization',
          '*.headers.authorization',
        ],
        censor: '[redacted]',
      },
    },
    pino.destination({ dest: 2, sync: true }),
  );
}
