import { sql } from '@databases/pg';
import test from 'ava';
import { closeAbandonedRuns } from '../pipeline/runs.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

const warehouse = useTestWarehouse(test);

test('a run left running on another host is closed once its heartbeat is stale, not before', async (t) => {
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
});
