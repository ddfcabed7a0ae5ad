import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import test from 'ava';
import { pino } from 'pino';
import { parseConfigText } from '../config/index.ts';
import { loadPaths } from '../pipeline/load.ts';
import { runSources } from '../pipeline/run.ts';
import { configuredViews } from '../pipeline/views.ts';
import { SAMPLE_DIR } from './helpers/fixtures.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

const warehouse = useTestWarehouse(test);
const dir = mkdtempSync(join(tmpdir(), 'fhir-etl-files-source-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const logger = pino({ level: 'silent' });

test.serial(
  'a missing landing folder is a failed run naming the path, and the next source still runs',
  async (t) => {
    const missing = join(dir, 'not-there');
    const config = parseConfigText(
      [
        'sources:',
        `  - { name: gone, kind: files, path: ${JSON.stringify(missing)} }`,
        `  - { name: landing, kind: files, path: ${JSON.stringify(SAMPLE_DIR)} }`,
      ].join('\n'),
      join(dir, 'fhir-etl.config.yaml'),
      {},
    );
    const results = await runSources(warehouse.db, config, { logger });
    t.deepEqual(
      results.map((r) => [r.source, r.status]),
      [
        ['gone', 'failed'],
        ['landing', 'succeeded'],
      ],
    );
    t.regex(results[0]?.error ?? '', /cannot read .*not-there: no such file or folder/);
    t.true((results[1]?.resources ?? 0) > 0);
    const runs = await warehouse.db.query(
      sql`SELECT source, command, status, error FROM fhir_etl.runs WHERE source IN ('gone', 'landing') ORDER BY id`,
    );
    t.is(runs.length, 2);
    t.like(runs[0], { source: 'gone', command: 'run', status: 'failed' });
    t.true((runs[0].error as string).includes(missing));
    t.like(runs[1], { source: 'landing', command: 'run', status: 'succeeded', error: null });
    const [patients] = await warehouse.db.query(
      sql`SELECT count(*)::int AS n FROM fhir.patient WHERE _source = 'landing'`,
    );
    t.true(patients.n > 0);
  },
);

test.serial('a load whose view tables cannot be prepared leaves no run marked running', async (t) => {
  // The view tables cannot be created in pg_catalog: preparing the load fails.
  const error = await t.throwsAsync(
    loadPaths(warehouse.db, {
      paths: [SAMPLE_DIR],
      source: 'no-views',
      concurrency: 1,
      maxLineBytes: 1 << 20,
      views: await configuredViews(),
      viewSchema: 'pg_catalog',
    }),
  );
  t.regex(error?.message ?? '', /pg_catalog|permission denied|disallowed/i);
  const running = await warehouse.db.query(
    sql`SELECT id FROM fhir_etl.runs WHERE source = 'no-views' AND status = 'running'`,
  );
  t.deepEqual(running, []);
});
