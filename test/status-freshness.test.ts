import { sql } from '@databases/pg';
import test from 'ava';
import { runCli } from './helpers/cli.ts';
import { scratchDir, writeConfig, writeLanding } from './helpers/scheduler.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

const warehouse = useTestWarehouse(test);

test('status shows freshness per source, checkpoints, table sizes, logins needed and bulk exports', async (t) => {
  const dir = scratchDir();
  const config = writeConfig(dir, [
    { name: 'landing', kind: 'files', path: writeLanding(dir, 2, 15), schedule: '0 2 * * *' },
    { name: 'idle', kind: 'files', path: writeLanding(dir, 0, 0, 'idle') },
  ]);
  const run = await runCli(['--config', config, 'run', '--source', 'landing'], {
    databaseUrl: warehouse.url,
  });
  t.is(run.code, 0, run.stderr);
  // What the bulk and REST connectors record, as they record it.
  await warehouse.db.query(sql`
    INSERT INTO fhir_etl.checkpoints (source, scope, value) VALUES ('landing', 'transactionTime', '2026-01-31T00:00:00Z')`);
  await warehouse.db.query(sql`
    INSERT INTO fhir_etl.members (source, patient_id, member_label, needs_login, login_error)
    VALUES ('payer', 'p1', '01-testmemid', true, 'invalid_grant'), ('payer', 'p2', 'm2', false, NULL)`);
  const [bulk] = await warehouse.db.query(sql`
    INSERT INTO fhir_etl.bulk_exports (source, status_url, request, state)
    VALUES ('provider', 'https://fhir.example/status/1', '{}'::jsonb, 'polling') RETURNING id`);
  await warehouse.db.query(sql`
    INSERT INTO fhir_etl.bulk_errors (source, export_id, resource_type, severity, code, diagnostics)
    VALUES ('provider', ${bulk.id}, 'Observation', 'error', 'processing', 'could not read Observation/9')`);

  const result = await runCli(['--config', config, 'status', '--json'], { databaseUrl: warehouse.url });
  t.is(result.code, 0, result.stderr);
  const status = JSON.parse(result.stdout);
  const [after] = await warehouse.db.query(sql`SELECT clock_timestamp() AS now`);
  const [succeeded] = await warehouse.db.query(
    sql`SELECT id, ended_at FROM fhir_etl.runs WHERE source = 'landing' AND status = 'succeeded'`,
  );

  const landing = status.freshness.find((f: { source: string }) => f.source === 'landing');
  t.like(landing, {
    schedule: '0 2 * * *',
    running: false,
    last_run: { id: succeeded.id, status: 'succeeded', trigger: 'manual' },
    last_success_at: succeeded.ended_at.toISOString(),
  });
  const sinceSuccess = (after.now.getTime() - succeeded.ended_at.getTime()) / 1000;
  t.true(landing.freshness_seconds >= 0 && landing.freshness_seconds <= sinceSuccess);
  t.like(
    status.freshness.find((f: { source: string }) => f.source === 'idle'),
    { schedule: null, last_run: null, last_success_at: null, freshness_seconds: null },
  );

  t.like(status.checkpoints[0], {
    source: 'landing',
    scope: 'transactionTime',
    value: '2026-01-31T00:00:00Z',
  });

  const table = (name: string) => status.tables.find((x: { table: string }) => x.table === name);
  t.like(table('fhir_raw.patient'), { rows: 30, estimated: false });
  t.like(table('fhir.patient'), { rows: 30 });
  t.true(table('fhir_raw.patient').bytes > 0);

  t.deepEqual(status.members.by_source, [{ source: 'payer', members: 2, needing_login: 1 }]);
  t.deepEqual(status.members.needing_login, [
    { source: 'payer', patient_id: 'p1', member_label: '01-testmemid', login_error: 'invalid_grant' },
  ]);
  t.like(status.bulk.in_progress[0], { source: 'provider', state: 'polling' });
  t.like(status.bulk.recent_errors[0], {
    export_id: bulk.id,
    code: 'processing',
    resource_type: 'Observation',
  });

  const text = await runCli(['--config', config, 'status'], { databaseUrl: warehouse.url });
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /idle\s+never/);
  t.regex(text.stdout, /members who must log in again/);
  t.regex(text.stdout, /bulk exports in progress/);
});
