import { spawn } from 'node:child_process';
import { sql } from '@databases/pg';
import test from 'ava';
import { startSandbox } from '../sandbox/index.ts';
import { CLI_ARGS, runCli } from './helpers/cli.ts';
import { memberRow, writeExchangeConfig, writeMembersCsv } from './helpers/exchange.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';
import { eventually } from './helpers/eventually.ts';

const warehouse = useTestWarehouse(test);

const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

async function batchStates(): Promise<string[]> {
  const rows = await warehouse.db.query(sql`SELECT state FROM fhir_etl.exchange_matches ORDER BY id`);
  return rows.map((r) => r.state);
}

test('a run killed (SIGKILL) while its second match batch polls resumes that batch without sending any member again', async (t) => {
  const sandbox = await startSandbox({ patients: 6, retryAfterSeconds: 0 });
  t.teardown(() => sandbox.close());
  const release = sandbox.pdex.holdMatchesFrom(2);
  const consent = { consent_start: day(-30), consent_end: day(300) };
  const members = await writeMembersCsv([0, 1, 2, 3].map((i) => memberRow(sandbox, i, consent)));
  const config = await writeExchangeConfig(sandbox, members, { matchBatchSize: 2 });

  const child = spawn(process.execPath, [...CLI_ARGS, '--config', config, 'run'], {
    env: { ...process.env, DATABASE_URL: warehouse.url },
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  // The first batch is recorded and the second sent (the sandbox holds it "matching"): kill hard.
  await eventually(async () => {
    const states = await batchStates();
    if (states.length === 2 && states[0] === 'completed') return true;
    if (child.exitCode !== null) throw new Error('the run ended before it could be killed');
    return false;
  });
  child.kill('SIGKILL');
  await exited;
  t.deepEqual(await batchStates(), ['completed', 'polling']);
  t.is(sandbox.pdex.matchRequests.length, 2);

  release();
  const rerun = await runCli(['--config', config, 'run'], { databaseUrl: warehouse.url });

  t.is(rerun.code, 0, rerun.stderr + rerun.stdout);
  t.is(sandbox.pdex.matchRequests.length, 2, 'no member sent again: the second batch was polled to its end');
  t.deepEqual(await batchStates(), ['completed', 'completed']);
  const outcomes = await warehouse.db.query(
    sql`SELECT outcome, count(*)::int AS n FROM fhir_etl.exchange_members GROUP BY outcome`,
  );
  t.deepEqual(outcomes, [{ outcome: 'matched', n: 4 }]);
  const [patients] = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir_raw.patient WHERE source = 'prior-payer'`,
  );
  t.is(patients.n, 4);
});
