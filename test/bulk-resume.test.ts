import { spawn } from 'node:child_process';
import { sql } from '@databases/pg';
import test from 'ava';
import { startSandbox } from '../sandbox/index.ts';
import { writeSandboxProviderConfig } from './helpers/bulk-run.ts';
import { CLI_ARGS, runCli } from './helpers/cli.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';
import { eventually } from './helpers/eventually.ts';

const warehouse = useTestWarehouse(test, { noDeadlocks: true });

async function committedFiles(): Promise<{ committed: number; total: number }> {
  const [row] = await warehouse.db.query(sql`
    SELECT count(*) FILTER (WHERE state = 'committed')::int AS committed, count(*)::int AS total FROM fhir_etl.bulk_files`);
  return row;
}

test('a run killed (SIGKILL) while downloading is resumed by the next run: same export, no second kick-off, exact counts', async (t) => {
  const sandbox = await startSandbox({ patients: 8, retryAfterSeconds: 0, faults: 'slow' });
  t.teardown(() => sandbox.close());
  const config = await writeSandboxProviderConfig(sandbox, 'fhir-etl-bulk-resume-');

  const child = spawn(process.execPath, [...CLI_ARGS, '--config', config, 'run'], {
    env: { ...process.env, DATABASE_URL: warehouse.url },
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  // Wait until the first file committed while others are still to come, then kill hard.
  await eventually(async () => {
    const files = await committedFiles();
    if (files.committed >= 1 && files.committed < files.total) return true;
    if (child.exitCode !== null) throw new Error('the run ended before it could be killed');
    return false;
  });
  child.kill('SIGKILL');
  await exited;
  const killedAt = await committedFiles();
  t.true(killedAt.committed < killedAt.total);

  sandbox.setFaults('');
  const rerun = await runCli(['--config', config, 'run'], { databaseUrl: warehouse.url });

  t.is(rerun.code, 0, rerun.stderr + rerun.stdout);
  const kickOffs = sandbox.requests.filter((r) => r.method !== 'DELETE' && r.url.includes('$export'));
  t.is(kickOffs.length, 1, 'no second kick-off');
  const exports = await warehouse.db.query(sql`SELECT id, state FROM fhir_etl.bulk_exports`);
  t.deepEqual(
    exports.map((e) => e.state),
    ['completed'],
  );
  const done = await committedFiles();
  t.is(done.committed, done.total);
  const perType: Array<{ resource_type: string; listed: number; table_name: string }> = await warehouse.db
    .query(sql`
    SELECT f.resource_type, sum(f.count)::int AS listed, r.table_name
    FROM fhir_etl.bulk_files f JOIN fhir_etl.raw_tables r USING (resource_type)
    WHERE f.kind = 'output' GROUP BY f.resource_type, r.table_name`);
  for (const type of perType) {
    const [row] = await warehouse.db.query(
      sql`SELECT count(*)::int AS n FROM fhir_raw.${sql.ident(type.table_name)}`,
    );
    t.is(row.n, type.listed, type.resource_type);
  }
  const [files] = await warehouse.db.query(sql`SELECT count(*)::int AS n FROM fhir_etl.files`);
  t.is(files.n, done.total, 'each file committed exactly once');
});
