import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ConnectionPool, sql } from '@databases/pg';
import { type WarehouseIdentity, warehouseIdentity } from '../loaders/index.ts';
import { PROCESS_INSTANCE } from './runs.ts';

/**
 * The end of a run the warehouse could not take: it stopped answering and did not come back
 * within the retry budget, so the run's row still says `running`. Its error is kept in a small
 * file under the home folder (`unrecorded-runs/`), and the next run from the same home writes
 * it into the run's row, so the run reads "the warehouse stopped answering", not "killed or
 * crashed".
 */
interface KeptRunError {
  runId: number;
  instance: string;
  /** The warehouse (its URL, password masked, or the embedded server's folder): a home may serve several. */
  warehouse: string;
  error: string;
  endedAt: string;
}

const FOLDER = 'unrecorded-runs';

/** Keeps a run's error beside the warehouse; false when the pool has no home to keep it in. */
export async function keepRunError(db: ConnectionPool, runId: number, error: string): Promise<boolean> {
  const identity = warehouseIdentity(db);
  if (!identity) return false;
  const entry: KeptRunError = {
    runId,
    instance: PROCESS_INSTANCE,
    warehouse: warehouseKey(identity),
    error,
    endedAt: new Date().toISOString(),
  };
  const folder = join(identity.home, FOLDER);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, `${PROCESS_INSTANCE}-${runId}.json`), JSON.stringify(entry), { mode: 0o600 });
  return true;
}

/**
 * Writes the errors kept for this warehouse into their runs (those still `running`), and
 * forgets them. Errors kept for another warehouse stay for it.
 */
export async function recordKeptRunErrors(db: ConnectionPool): Promise<void> {
  const identity = warehouseIdentity(db);
  if (!identity) return;
  const folder = join(identity.home, FOLDER);
  const names = await readdir(folder).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const path = join(folder, name);
    let entry: KeptRunError;
    try {
      entry = JSON.parse(await readFile(path, 'utf8')) as KeptRunError;
    } catch {
      continue;
    }
    if (entry.warehouse !== warehouseKey(identity)) continue;
    await db.query(sql`
      UPDATE fhir_etl.runs SET status = 'failed', ended_at = ${entry.endedAt}::timestamptz, error = ${entry.error}
      WHERE id = ${entry.runId} AND instance = ${entry.instance} AND status = 'running'`);
    await rm(path, { force: true });
  }
}

/** The embedded server by its data folder (its port may change between starts), any other by URL. */
function warehouseKey(identity: WarehouseIdentity): string {
  return identity.dataDir ?? identity.displayUrl;
}
