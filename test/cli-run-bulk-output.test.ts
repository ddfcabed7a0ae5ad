import test from 'ava';
import { type BulkServer, ndjson } from './helpers/bulk-server.ts';
import { kickOffAccepted, scriptedServer, writeConfigFile } from './helpers/bulk-run.ts';
import { runCli } from './helpers/cli.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

/**
 * What `fhir-etl run` prints for a Bulk source when its output is not a terminal (a CronJob's
 * log, a pipe): readable warnings, JSON only with --json, and a summary that tells lines read
 * from resources inserted, updated and unchanged.
 */

const warehouse = useTestWarehouse(test, { noDeadlocks: true });

function serve(s: BulkServer) {
  const throttled = { status: 429, headers: { 'retry-after': '3600' } };
  s.route('GET', '/fhir/$export', kickOffAccepted(s));
  s.route('GET', '/status/job1', throttled, throttled, throttled, {
    status: 200,
    json: {
      transactionTime: '2026-02-01T10:00:00.000Z',
      requiresAccessToken: false,
      output: [{ type: 'Patient', url: `${s.url}/files/p.ndjson` }],
      error: [],
    },
  });
  // Three patients, one of them twice (identical): 4 lines, 3 inserted, 1 unchanged.
  const patients = ndjson('Patient', 3, 'p');
  s.route('GET', '/files/p.ndjson', { status: 200, body: `${patients}${patients.split('\n')[0]}\n` });
  s.route('DELETE', '/status/job1', { status: 202 });
}

async function config(s: BulkServer, name: string): Promise<string> {
  return writeConfigFile('fhir-etl-bulk-output-', [
    'sources:',
    `  - name: ${name}`,
    '    kind: bulk',
    `    baseUrl: ${s.url}/fhir`,
    '    export: { maxPollIntervalSeconds: 0.05 }',
    '    auth: { type: none }',
  ]);
}

test('without --json on a pipe: warnings are readable lines, each repeated warning said once then counted, and the summary splits lines from resources', async (t) => {
  const s = await scriptedServer(t);
  serve(s);

  const result = await runCli(['--config', await config(s, 'piped'), 'run'], { databaseUrl: warehouse.url });

  t.is(result.code, 0, result.stderr);
  const stderr = result.stderr.trim().split('\n');
  t.true(stderr.length > 0);
  t.false(
    stderr.some((line) => line.trimStart().startsWith('{')),
    `no JSON line:\n${result.stderr}`,
  );
  t.is(stderr.filter((line) => /WARN.*asked to wait 3600 s; waiting 0.05 s/.test(line)).length, 1);
  t.is(stderr.filter((line) => /WARN.*asked 2 more time\(s\) to wait longer/.test(line)).length, 1);
  t.false(result.stderr.includes('\u001b['), 'no colour codes in a file');
  t.regex(result.stdout, /lines read\s+inserted\s+updated\s+unchanged\s+rejects/);
  t.regex(result.stdout, /piped\s+\d+\s+succeeded\s+1\s+4\s+3\s+0\s+1\s+0/);
});

test('with --json the same warnings are JSON lines', async (t) => {
  const s = await scriptedServer(t);
  serve(s);

  const result = await runCli(['--config', await config(s, 'as-json'), '--json', 'run'], {
    databaseUrl: warehouse.url,
  });

  t.is(result.code, 0, result.stderr);
  const lines = result.stderr
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  t.true(lines.some((line) => line.event === 'bulk.retry_after_clamped'));
  const done = lines.find((line) => line.event === 'source.done');
  t.like(done, { lines: 4, inserted: 3, updated: 0, resources: 4 });
});
