import { main } from '../../bin/main.ts';

export interface MainResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the fhir-etl command in this process, through `main(argv)` as bin/fhir-etl.ts does,
 * with what it writes to stdout and stderr captured. Much faster than spawning the CLI; use it
 * in `test.serial` only (it swaps the process's streams while it runs). Log lines written by
 * pino go to file descriptor 2 directly and are not captured.
 */
export async function runMain(args: string[]): Promise<MainResult> {
  let stdout = '';
  let stderr = '';
  const writeOut = process.stdout.write;
  const writeErr = process.stderr.write;
  const capture =
    (append: (text: string) => void) =>
    (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      append(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    };
  process.stdout.write = capture((text) => {
    stdout += text;
  });
  process.stderr.write = capture((text) => {
    stderr += text;
  });
  process.exitCode = undefined;
  try {
    const code = await main([process.execPath, 'fhir-etl', ...args]);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
    process.exitCode = undefined;
  }
}
