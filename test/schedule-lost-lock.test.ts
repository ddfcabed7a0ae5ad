import { type ConnectionPool, sql } from '@databases/pg';
import test, { type ExecutionContext } from 'ava';
import pino from 'pino';
import { loadConfig } from '../config/index.ts';
import { openWarehouse, type Warehouse } from '../loaders/index.ts';
import { runSources } from '../pipeline/run.ts';
import { runFire } from '../pipeline/scheduler/fire.ts';
import { scheduledSources } from '../pipeline/scheduler/index.ts';
import { SourceLockLostError, withSourceLock } from '../pipeline/source-lock.ts';
import {
  assertNoHalfFile,
  filesWaitingToCommit,
  holdCheckpoints,
  type LogLine,
  scratchDir,
  writeConfig,
  writeLanding,
} from './helpers/scheduler.ts';
import { eventually } from './helpers/eventually.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

const warehouse = useTestWarehouse(test);

const FILES = 6;
const PATIENTS = 50;

/** A JSON logger whose lines the test reads. */
function capturingLogger() {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: 'info', base: undefined },
    { write: (line: string) => lines.push(JSON.parse(line)) },
  );
  return { logger, lines };
}

/** A pool of its own for the code under test, so terminating its lock connection leaves the test's alone. */
async function ownPool(t: ExecutionContext): Promise<Warehouse> {
  const own = await openWarehouse({ databaseUrl: warehouse.url, migrate: false, poolSize: 8 });
  t.teardown(() => own.close());
  return own;
}

/** Terminates the backend holding the source's advisory lock, as a failover or idle timeout would. */
async function killLockHolder(db: ConnectionPool, source: string): Promise<void> {
  const holders: Array<{ pid: number }> = await db.query(sql`
    SELECT pid FROM pg_locks
    WHERE locktype = 'advisory' AND objid = hashtext(${source})::oid AND objsubid = 2 AND granted
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
  if (holders.length !== 1)
    throw new Error(`expected one holder of the ${source} lock, found ${holders.length}`);
  await db.query(sql`SELECT pg_terminate_backend(${holders[0]?.pid})`);
}

test.serial(
  'a source lock whose connection dies is reported lost, and the unlock failure is only logged',
  async (t) => {
    const own = await ownPool(t);
    const { logger, lines } = capturingLogger();
    const held = await withSourceLock(
      own.db,
      'kept-briefly',
      async (lock) => {
        await lock.verify();
        await killLockHolder(warehouse.db, 'kept-briefly');
        const lost = await t.throwsAsync(lock.verify(), { instanceOf: SourceLockLostError });
        t.regex(lost?.message ?? '', /lost the source lock on kept-briefly/);
        t.true(lock.signal.aborted);
        t.is(lock.signal.reason, lost);
        return 'the work result';
      },
      { logger, checkEveryMs: 60_000 },
    );
    // The unlock on the dead connection fails; that never replaces the work's result.
    t.deepEqual(held, { acquired: true, value: 'the work result' });
    t.true(lines.some((line) => line.event === 'source_lock.unlock_failed'));
    // The lock went with the connection: anyone can take the source now.
    const again = await withSourceLock(own.db, 'kept-briefly', async () => 'second');
    t.deepEqual(again, { acquired: true, value: 'second' });
  },
);

test.serial(
  'a fire whose lock connection dies mid-run stops, is recorded failed with "lost the source lock", and half-loads nothing',
  async (t) => {
    const own = await ownPool(t);
    const dir = scratchDir();
    const landing = writeLanding(dir, FILES, PATIENTS);
    const file = writeConfig(dir, [{ name: 'lost', kind: 'files', path: landing, schedule: '0 0 1 1 *' }]);
    const config = await loadConfig(file);
    const [source] = scheduledSources(config, ['lost']);
    if (!source) throw new Error('no scheduled source');
    const { logger, lines } = capturingLogger();

    const checkpoints = await holdCheckpoints(warehouse.db);
    const fire = runFire(
      {
        db: own.db,
        config,
        logger,
        replica: 'lost-lock-test',
        signal: new AbortController().signal,
        sourceLockCheckMs: 100,
      },
      source,
      new Date('2030-01-01T00:00:00Z'),
    );
    await eventually(async () => (await filesWaitingToCommit(warehouse.db)) > 0);
    await killLockHolder(warehouse.db, 'lost');
    // The periodic check finds the lock gone and aborts the run while its files are still held up.
    await eventually(async () => lines.some((line) => line.event === 'source_lock.lost'));
    await checkpoints.release();
    const result = await fire;

    t.is(result.outcome, 'failed');
    const fires = await warehouse.db.query(
      sql`SELECT outcome, attempts, error, finished_at FROM fhir_etl.schedule_fires WHERE source = 'lost'`,
    );
    t.is(fires.length, 1);
    t.like(fires[0], { outcome: 'failed', attempts: 1 });
    t.truthy(fires[0].finished_at);
    t.regex(fires[0].error, /^lost the source lock on lost/);
    const runs = await warehouse.db.query(
      sql`SELECT status, trigger, error FROM fhir_etl.runs WHERE source = 'lost' ORDER BY id`,
    );
    t.is(runs.length, 1, 'no retry once the lock is lost');
    t.like(runs[0], { status: 'failed', trigger: 'schedule' });
    t.regex(runs[0].error, /^lost the source lock on lost/);
    // A lost lock is no shutdown: the message says why the run stopped.
    t.regex(runs[0].error, /stopped before every file was loaded \(the source lock was lost\)/);
    t.notRegex(runs[0].error, /shutdown/);
    const done = lines.find((line) => line.event === 'fire.done');
    t.like(done, { outcome: 'failed' });

    // The files in flight committed whole; the run started no file after the loss.
    const committed = await assertNoHalfFile(t, warehouse.db, 'lost', { files: FILES, patients: PATIENTS });
    t.true(committed.length > 0 && committed.length < FILES, `committed ${committed.length} files`);

    // The next run takes the lock and loads the rest.
    const [next] = await runSources(own.db, config, { sources: ['lost'], logger });
    t.is(next?.status, 'succeeded');
    t.is(
      (await assertNoHalfFile(t, warehouse.db, 'lost', { files: FILES, patients: PATIENTS })).length,
      FILES,
    );
  },
);
