import { spawn } from 'node:child_process';
import { CLI_ARGS } from './cli-entry.ts';

export { CLI_ARGS } from './cli-entry.ts';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the fhir-etl command as a user would, in a child process. */
export function runCli(
  args: string[],
  options: { databaseUrl?: string; input?: string | Buffer; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = { ...(options.env ?? process.env) };
    if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
    const child = spawn(process.execPath, [...CLI_ARGS, ...args], {
      env,
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}
