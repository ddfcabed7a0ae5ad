import { hostname } from 'node:os';
import { sql } from '@databases/pg';
import test from 'ava';
import { emptyTotals } from '../pipeline/run-recorder.ts';
import { closeAbandonedRuns, finishRun, PROCESS_INSTANCE, startRun } from '../pipeline/runs.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

const warehouse = useTestWarehouse(test);
// One after the other: each closes the abandoned runs of the whole warehouse, so the first
// would close the second's runs as stale ("no heartbeat") had it inserted them meanwhile.

test.serial(
  'a run left running on another host is closed once its heartbeat is stale, not before',
  async (t) => {
    // Runs of replicas on other machines, whose pids cannot be checked from here.
    const [dead] = await warehouse.db.query(sql`
    INSERT INTO fhir_etl.runs (command, source, host, pid, trigger, heartbeat_at)
    VALUES ('run', 'landing', 'replica-on-a-dead-node', 41, 'schedule', clock_timestamp() - interval '10 minutes')
    RETURNING id`);
    const [alive] = await warehouse.db.query(sql`
    INSERT INTO fhir_etl.runs (command, source, host, pid, trigger, heartbeat_at)
    VALUES ('run', 'other', 'replica-still-loading', 42, 'schedule', clock_timestamp() - interval '30 seconds')
    RETURNING id`);

    await closeAbandonedRuns(warehouse.db, { staleAfterSeconds: 120 });

    const [closed] = await warehouse.db.query(
      sql`SELECT status, ended_at, error FROM fhir_etl.runs WHERE id = ${dead.id}`,
    );
    t.is(closed.status, 'failed');
    t.truthy(closed.ended_at);
    t.regex(closed.error, /no heartbeat from replica-on-a-dead-node \(pid 41\)/);
    const [running] = await warehouse.db.query(sql`SELECT status FROM fhir_etl.runs WHERE id = ${alive.id}`);
    t.is(running.status, 'running');
  },
);

test.serial(
  "a run left running by an earlier process with this host and pid is closed, this process's own run kept",
  async (t) => {
    // A restarted container keeps its hostname, and node is pid 1 each time: only the instance id tells.
    const [earlier] = await warehouse.db.query(sql`
    INSERT INTO fhir_etl.runs (command, source, host, pid, instance, trigger, heartbeat_at)
    VALUES ('run', 'restarted', ${hostname()}, ${process.pid}, 'an-earlier-process', 'schedule', clock_timestamp())
    RETURNING id`);
    const [earlierStale] = await warehouse.db.query(sql`
    INSERT INTO fhir_etl.runs (command, source, host, pid, instance, trigger, heartbeat_at)
    VALUES ('run', 'restarted-stale', ${hostname()}, ${process.pid}, 'another-earlier-process', 'schedule',
            clock_timestamp() - interval '10 minutes')
    RETURNING id`);
    const [beforeInstances] = await warehouse.db.query(sql`
    INSERT INTO fhir_etl.runs (command, source, host, pid, trigger, heartbeat_at)
    VALUES ('run', 'pre-migration', ${hostname()}, ${process.pid}, 'manual', clock_timestamp())
    RETURNING id`);
    const own = await startRun(warehouse.db, 'run', 'mine');
    t.teardown(() => finishRun(warehouse.db, own, emptyTotals()));
    // This process's run, even with a stale heartbeat (a long pause), is not taken for abandoned.
    await warehouse.db.query(
      sql`UPDATE fhir_etl.runs SET heartbeat_at = clock_timestamp() - interval '10 minutes' WHERE id = ${own}`,
    );

    await closeAbandonedRuns(warehouse.db, { staleAfterSeconds: 120 });

    const statuses: Array<{ id: number; status: string; error: string | null; instance: string | null }> =
      await warehouse.db.query(sql`
      SELECT id, status, error, instance FROM fhir_etl.runs
      WHERE id IN (${earlier.id}, ${earlierStale.id}, ${beforeInstances.id}, ${own})`);
    const of = (id: number) => statuses.find((row) => row.id === id);
    for (const id of [earlier.id, earlierStale.id, beforeInstances.id]) {
      t.is(of(id)?.status, 'failed', `run ${id}`);
      t.regex(of(id)?.error ?? '', /ended without finishing the run/);
    }
    t.like(of(own), { status: 'running', instance: PROCESS_INSTANCE });
  },
);
