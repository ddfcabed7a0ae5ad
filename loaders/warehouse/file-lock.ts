import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { WarehouseError } from '../errors.ts';

/**
 * Runs `fn` while holding a lock that other processes on this machine respect: a directory
 * created atomically by mkdir, holding the owner's pid so a lock left by a killed process is
 * taken over instead of blocking forever.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (!(await tryLock(path))) {
    if (Date.now() > deadline) {
      throw new WarehouseError(`timed out waiting for the lock ${path}`, { path });
    }
    await sleep(50 + Math.random() * 100);
  }
  try {
    return await fn();
  } finally {
    await rm(path, { recursive: true, force: true });
  }
}

async function tryLock(path: string): Promise<boolean> {
  try {
    await mkdir(path);
    await writeFile(`${path}/pid`, String(process.pid));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    if (await ownerIsDead(path)) await rm(path, { recursive: true, force: true });
    return false;
  }
}

async function ownerIsDead(path: string): Promise<boolean> {
  const pid = Number(await readFile(`${path}/pid`, 'utf8').catch(() => ''));
  // A lock directory without a pid is being created right now, unless it has been so for long.
  if (!pid) {
    const created = await stat(path).then(
      (s) => s.mtimeMs,
      () => Date.now(),
    );
    return Date.now() - created > 10_000;
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
