import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type ConnectionPool, sql } from '@databases/pg';
import { queryRows } from '../loaders/postgres/query-rows.ts';
import { queryRow } from '../loaders/postgres/query-row.ts';

/** What a run did, as recorded in fhir_etl.runs. */
export interface RunTotals {
  files: number;
  filesSkipped: number;
  /** Lines read from the files (blank lines, rejects and repeats included). */
  lines: number;
  /** Resources read (a resource seen twice counts twice). */
  resources: number;
  /** Of those, new to fhir_raw, and replacing a stored copy; the rest changed nothing (identical, older, repeated). */
  inserted: number;
  updated: number;
  bytes: number;
  rejects: number;
  /** Values written NULL because their view column could not hold them (fhir_etl.value_errors). */
  valueErrors?: number;
  counts: Record<string, unknown>;
  viewCounts: Record<string, number>;
}

/** The totals fhir_etl.runs keeps (lines read and inserted/updated are said by the run, not stored). */
export type RecordedTotals = Omit<RunTotals, 'lines' | 'inserted' | 'updated'>;

/** How a run started: by hand (run, load, rebuild), by a scheduled fire, or as a retry of one. */
export type RunTrigger = 'manual' | 'schedule' | 'retry';

/** Who asked for the runs started inside `attributeRuns`, and the run going on there. */
export interface RunAttribution {
  trigger: RunTrigger;
  /** The fhir_etl.schedule_fires row the run belongs to. */
  fireId?: number;
  /** Set by startRun: the run started last in this context (what the logger stamps on lines). */
  runId?: number;
}

/** A run still 'running' whose heartbeat is older than this is taken for abandoned, on any host. */
export const DEFAULT_STALE_AFTER_SECONDS = 120;
const HEARTBEAT_MS = 15_000;

/**
 * This process, as recorded in fhir_etl.runs.instance. Host and pid do not tell processes
 * apart: a restarted container keeps its hostname, and node is pid 1 in each one, so a run
 * is this process's only when it carries this id.
 */
export const PROCESS_INSTANCE = randomUUID();

// The run records are written deep inside each connector (loadPaths, recordRun), which know
// nothing of schedules. Rather than thread a trigger through every connector's signature,
// the scheduler attributes the runs started within its async context, and startRun reads it.
const attribution = new AsyncLocalStorage<RunAttribution>();
const heartbeats = new Map<number, NodeJS.Timeout>();

/** Runs `work` with every run it starts recorded under `trigger` (and `fireId`). */
export function attributeRuns<T>(
  trigger: RunTrigger,
  fireId: number | undefined,
  work: () => Promise<T>,
): Promise<T> {
  return attribution.run({ trigger, ...(fireId === undefined ? {} : { fireId }) }, work);
}

/**
 * Runs `work`, one run, in an attribution of its own, so every line it logs carries its run
 * id: inside a scheduled fire it keeps the fire's trigger and id, anywhere else it is manual.
 */
export function attributeRun<T>(work: () => Promise<T>): Promise<T> {
  const enclosing = attribution.getStore();
  return attributeRuns(enclosing?.trigger ?? 'manual', enclosing?.fireId, work);
}

/** The attribution of the code running now, if it runs inside `attributeRuns`. */
export function currentRun(): Readonly<RunAttribution> | undefined {
  return attribution.getStore();
}

/** Records the start of a run and returns its id (the run_id every row it writes carries). */
export async function startRun(db: ConnectionPool, command: string, source: string): Promise<number> {
  const context = attribution.getStore();
  const row = await queryRow<{ id: number }>(
    db,
    sql`
    INSERT INTO fhir_etl.runs (command, source, host, pid, instance, trigger, fire_id)
    VALUES (${command}, ${source}, ${hostname()}, ${process.pid}, ${PROCESS_INSTANCE},
            ${context?.trigger ?? 'manual'}, ${context?.fireId ?? null})
    RETURNING id`,
  );
  const id: number = row.id;
  if (context) context.runId = id;
  beatWhileRunning(db, id);
  return id;
}

/** Records the end of a run: succeeded, or failed with the error text. */
export async function finishRun(
  db: ConnectionPool,
  runId: number,
  totals: RecordedTotals,
  error?: string,
): Promise<void> {
  clearInterval(heartbeats.get(runId));
  heartbeats.delete(runId);
  await db.query(sql`
    UPDATE fhir_etl.runs SET
      status = ${error === undefined ? 'succeeded' : 'failed'},
      ended_at = clock_timestamp(), heartbeat_at = clock_timestamp(),
      files = ${totals.files}, files_skipped = ${totals.filesSkipped},
      resources = ${totals.resources}, bytes = ${totals.bytes}, rejects = ${totals.rejects},
      value_errors = ${totals.valueErrors ?? 0},
      counts = ${JSON.stringify(totals.counts)}::jsonb,
      view_counts = ${JSON.stringify(totals.viewCounts)}::jsonb,
      error = ${error ?? null}
    WHERE id = ${runId}`);
}

/**
 * Records a run that did nothing on purpose (another process is running its source): status
 * `skipped`, with why in `error`, so it is never counted as a failure.
 */
export async function skipRun(db: ConnectionPool, runId: number, reason: string): Promise<void> {
  clearInterval(heartbeats.get(runId));
  heartbeats.delete(runId);
  await db.query(sql`
    UPDATE fhir_etl.runs SET status = 'skipped', ended_at = clock_timestamp(),
      heartbeat_at = clock_timestamp(), error = ${reason}
    WHERE id = ${runId}`);
}

/**
 * Puts `reason` first in a failed run's error (unless it is there already): why the run
 * stopped, when the loader only saw it stopped.
 */
export async function prefixRunError(db: ConnectionPool, runId: number, reason: string): Promise<void> {
  await db.query(sql`
    UPDATE fhir_etl.runs
    SET error = CASE WHEN starts_with(coalesce(error, ''), ${reason}) THEN error
                     ELSE ${reason} || coalesce(E'\n' || error, '') END
    WHERE id = ${runId} AND status = 'failed'`);
}

/**
 * Marks runs left 'running' by a process that no longer exists as failed, so status never
 * shows a crashed run as still going: on this host at once (its pid is gone, or it is this
 * pid but an earlier process: a restarted container), on any host once its heartbeat is
 * older than `staleAfterSeconds` (the process, or its host, died). Only the runs carrying
 * this process's instance id are taken for this process's own.
 */
export async function closeAbandonedRuns(
  db: ConnectionPool,
  options: { staleAfterSeconds?: number } = {},
): Promise<void> {
  const rows: Array<{ id: number; pid: number }> = await queryRows(
    db,
    sql`
    SELECT id, pid FROM fhir_etl.runs
    WHERE status = 'running' AND host = ${hostname()} AND instance IS DISTINCT FROM ${PROCESS_INSTANCE}`,
  );
  for (const row of rows) {
    // Another live process on this host (another run, a scheduler); this pid is this process,
    // so a run with it but another instance id was left by an earlier process.
    if (row.pid !== process.pid && isAlive(row.pid)) continue;
    await db.query(sql`
      UPDATE fhir_etl.runs SET status = 'failed', ended_at = clock_timestamp(),
        error = 'the process ended without finishing the run (killed or crashed); committed files are kept'
      WHERE id = ${row.id} AND status = 'running'`);
  }
  const staleAfter = options.staleAfterSeconds ?? DEFAULT_STALE_AFTER_SECONDS;
  await db.query(sql`
    UPDATE fhir_etl.runs SET status = 'failed', ended_at = clock_timestamp(),
      error = format('no heartbeat from %s (pid %s) since %s: the process or its host died; committed files are kept',
                     host, pid, heartbeat_at)
    WHERE status = 'running' AND heartbeat_at < clock_timestamp() - make_interval(secs => ${staleAfter})
      AND instance IS DISTINCT FROM ${PROCESS_INSTANCE}`);
}

/**
 * Refreshes the run's heartbeat until finishRun. The timer is unref'd so a heartbeat never
 * keeps a finished command alive, and a failed beat is only a missed beat.
 */
function beatWhileRunning(db: ConnectionPool, runId: number): void {
  const timer = setInterval(() => {
    db.query(
      sql`UPDATE fhir_etl.runs SET heartbeat_at = clock_timestamp() WHERE id = ${runId} AND status = 'running'`,
    ).catch(() => undefined);
  }, HEARTBEAT_MS);
  timer.unref();
  heartbeats.set(runId, timer);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
