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

async function state(): Promise<{ matches: string[]; exports: string[] }> {
  const matches = await warehouse.db.query(sql`SELECT state FROM fhir_etl.exchange_matches ORDER BY id`);
  const exports = await warehouse.db.query(sql`SELECT state FROM fhir_etl.bulk_exports ORDER BY id`);
  return { matches: matches.map((r) => r.state), exports: exports.map((r) => r.state) };
}

test('a run killed (SIGKILL) between the match and the export resumes the export without matching again', async (t) => {
  const sandbox = await startSandbox({ patients: 6, retryAfterSeconds: 0 });
  t.teardown(() => sandbox.close());
  const release = sandbox.pdex.holdExports();
  const consent = { consent_start: day(-30), consent_end: day(300) };
  const members = await writeMembersCsv([0, 1, 2, 3].map((i) => memberRow(sandbox, i, consent)));
  const config = await writeExchangeConfig(sandbox, members);

  const child = spawn(process.execPath, [...CLI_ARGS, '--config', config, 'run'], {
    env: { ...process.env, DATABASE_URL: warehouse.url },
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  // The match is recorded and the export kicked off (the sandbox holds it in progress): kill hard.
  await eventually(async () => {
    const now = await state();
    if (now.matches[0] === 'completed' && now.exports.length === 1) return true;
    if (child.exitCode !== null) throw new Error('the run ended before it could be killed');
    return false;
  });
  child.kill('SIGKILL');
  await exited;
  t.deepEqual(await state(), { matches: ['completed'], exports: ['polling'] });

  release();
  const rerun = await runCli(['--config', config, 'run'], { databaseUrl: warehouse.url });

  t.is(rerun.code, 0, rerun.stderr + rerun.stdout);
  t.is(sandbox.pdex.matchRequests.length, 1, 'not matched again');
  const kickOffs = sandbox.requests.filter(
    (r) => r.method === 'POST' && r.url.includes('$davinci-data-export'),
  );
  t.is(kickOffs.length, 1, 'the export was resumed, not kicked off again');
  t.deepEqual(await state(), { matches: ['completed'], exports: ['completed'] });
  const pulls = await warehouse.db.query(sql`SELECT kind, state FROM fhir_etl.exchange_pulls`);
  t.deepEqual(pulls, [{ kind: 'lookback', state: 'completed' }]);
  const [patients] = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir_raw.patient WHERE source = 'prior-payer'`,
  );
  t.is(patients.n, 4);
});
