import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadChildRequest, LoadChildResult } from './load-child.ts';

const CHILD = fileURLToPath(new URL('./load-child.ts', import.meta.url));

/** Runs bench/load-child.ts in a fresh node process and returns what it reports. */
export function runLoadChild(request: LoadChildRequest): Promise<LoadChildResult> {
  return new Promise((resolve, reject) => {
    // The same heap cap as bin/fhir-etl.js, so the peak RSS measured is the CLI's.
    const child = spawn(
      process.execPath,
      ['--max-old-space-size=256', '--import', 'tsx', CHILD, JSON.stringify(request)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        reject(new Error(`load child exited with ${code}: ${out.trim().slice(-2000)}`));
        return;
      }
      const result = JSON.parse(last) as LoadChildResult;
      if (result.status !== 'succeeded') {
        reject(new Error(`load ${result.status}: ${result.failures.join('; ').slice(0, 2000)}`));
        return;
      }
      resolve(result);
    });
  });
}
