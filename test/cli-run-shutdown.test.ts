import { spawn } from 'node:child_process';
import { sql } from '@databases/pg';
import test from 'ava';
import { startSandbox } from '../sandbox/index.ts';
import { writeSandboxProviderConfig } from './helpers/bulk-run.ts';
import { CLI_ARGS, runCli } from './helpers/cli.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';
import { eventually } from './helpers/eventually.ts';

const warehouse = useTestWarehouse(test);

async function bulkFiles(): Promise<{ committed: number; total: number }> {
  const [row] = await warehouse.db.query(sql`
    SELECT count(*) FILTER (WHERE state = 'committed')::int AS committed, count(*)::int AS total
    FROM fhir_etl.bulk_files WHERE kind = 'output'`);
  return row;
}

async function rawRows(): Promise<number> {
  const tables: Array<{ table_name: string }> = await warehouse.db.query(
    sql`SELECT table_name FROM fhir_etl.raw_tables`,
  );
  let total = 0;
  for (const { table_name } of tables) {
    const [row] = await warehouse.db.query(
      sql`SELECT count(*)::int AS n FROM fhir_raw.${sql.ident(table_name)}`,
    );
    total += row.n;
  }
  return total;
}

async function committedResources(): Promise<number> {
  const [row] = await warehouse.db.query(
    sql`SELECT coalesce(sum(resources), 0)::int AS n FROM fhir_etl.files`,
  );
  return row.n;
}

test('SIGTERM stops fhir-etl run gracefully: committed files stay, none is half-loaded, the next run finishes the export', async (t) => {
  const sandbox = await startSandbox({ patients: 8, retryAfterSeconds: 0, faults: 'slow' });
  t.teardown(() => sandbox.close());
  const config = await writeSandboxProviderConfig(sandbox, 'fhir-etl-run-stop-');
  const child = spawn(process.execPath, [...CLI_ARGS, '--config', config, '--json', 'run'], {
    env: { ...process.env, DATABASE_URL: warehouse.url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exitCode = new Promise<number | null>((resolve) => child.on('exit', resolve));
  await eventually(async () => {
    const files = await bulkFiles();
    if (files.committed >= 1 && files.committed < files.total) return true;
    if (child.exitCode !== null) throw new Error(`the run ended before the signal: ${stderr}`);
    return false;
  });
  child.kill('SIGTERM');
  t.is(await exitCode, 1, 'a stopped run is not a success');
  t.regex(stderr, /SIGTERM: stopping gracefully/);

  const [run] = await warehouse.db.query(
    sql`SELECT status, error FROM fhir_etl.runs ORDER BY id DESC LIMIT 1`,
  );
  t.is(run.status, 'failed');
  const stopped = await bulkFiles();
  t.true(stopped.committed < stopped.total, 'the export was cut short');
  // Every row in fhir_raw belongs to a committed file, and every committed file is whole.
  t.is(await rawRows(), await committedResources());

  sandbox.setFaults('');
  const rerun = await runCli(['--config', config, 'run'], { databaseUrl: warehouse.url });
  t.is(rerun.code, 0, rerun.stderr);
  const done = await bulkFiles();
  t.is(done.committed, done.total);
  const kickOffs = sandbox.requests.filter((r) => r.method !== 'DELETE' && r.url.includes('$export'));
  t.is(kickOffs.length, 1, 'the same export was resumed');
  const [patients] = await warehouse.db.query(sql`SELECT count(*)::int AS n FROM fhir_raw.patient`);
  t.is(patients.n, 8);
});
