import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import test from 'ava';
import { runCli } from './helpers/cli.ts';
import { SAMPLE_DIR } from './helpers/fixtures.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

/** `fhir-etl --json run` by hand: its log lines say which run they belong to, as scheduled runs' do. */

const warehouse = useTestWarehouse(test);

test('every JSON log line of a manual run carries the run id of its source, and trigger manual, once the run started', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fhir-etl-run-logs-'));
  const config = join(dir, 'fhir-etl.config.yaml');
  await writeFile(
    config,
    [
      'sources:',
      '  - { name: landing-a, kind: files, path: ' + SAMPLE_DIR + ' }',
      '  - { name: landing-b, kind: files, path: ' + SAMPLE_DIR + ' }',
      '',
    ].join('\n'),
  );

  const result = await runCli(['--config', config, '--json', 'run'], { databaseUrl: warehouse.url });

  t.is(result.code, 0, result.stderr);
  const runs: Array<{ id: number; source: string; trigger: string }> = await warehouse.db.query(
    sql`SELECT id, source, trigger FROM fhir_etl.runs ORDER BY id`,
  );
  t.deepEqual(
    runs.map((r) => [r.source, r.trigger]),
    [
      ['landing-a', 'manual'],
      ['landing-b', 'manual'],
    ],
  );
  const runIdOf = new Map(runs.map((r) => [r.source, r.id]));
  const lines = result.stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  const started = lines.findIndex((line) => line.runId !== undefined);
  t.true(started >= 0, 'some line carries a run id');
  const afterStart = lines.slice(started);
  t.true(afterStart.length > 2);
  for (const line of afterStart) {
    t.not(line.runId, undefined, `a line without runId: ${JSON.stringify(line)}`);
    if (typeof line.source === 'string') t.is(line.runId, runIdOf.get(line.source), JSON.stringify(line));
  }
  const runLines = afterStart.filter((line) => line.event !== 'source.done');
  t.true(runLines.every((line) => line.trigger === 'manual'));
  t.deepEqual(
    [...new Set(afterStart.map((line) => line.runId))],
    runs.map((r) => r.id),
  );
});
