import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import test from 'ava';
import pino from 'pino';
import { type BulkSourceConfig, configSchema } from '../config/index.ts';
import { createHttpClient } from '../connectors/http/index.ts';
import { openWarehouse } from '../loaders/index.ts';
import { runBulkExport } from '../pipeline/bulk/run-export.ts';
import { prepareLoad } from '../pipeline/ingest.ts';
import { recordRun } from '../pipeline/run-recorder.ts';
import { ndjson } from './helpers/bulk-server.ts';
import { kickOffAccepted, scriptedServer } from './helpers/bulk-run.ts';
import { type PrivatePostgres, startPrivatePostgres } from './helpers/private-postgres.ts';

/**
 * The warehouse going away in the middle of a Bulk export, on a PostgreSQL of the test's own
 * that it stops: `run` starts no other download, says so once naming the server, and leaves
 * the export resumable; the run is closed as failed when the server comes back.
 */
let pg: PrivatePostgres;
test.before(async () => {
  pg = await startPrivatePostgres();
});
test.after.always(async () => {
  await pg?.destroy();
});

test('the warehouse stopping mid-export: no other file is started, one message names the server, the export stays resumable', async (t) => {
  const s = await scriptedServer(t);
  const files = Array.from({ length: 6 }, (_, i) => `f${i}.ndjson`);
  s.route('GET', '/fhir/$export', kickOffAccepted(s));
  s.route('GET', '/status/job1', {
    status: 200,
    json: {
      transactionTime: '2026-02-01T10:00:00.000Z',
      requiresAccessToken: false,
      output: files.map((f) => ({ type: 'Patient', url: `${s.url}/files/${f}` })),
      error: [],
    },
  });
  for (const [i, file] of files.entries()) {
    const body = ndjson('Patient', 5, `p${i}-`);
    // The second file is answered once the warehouse has stopped.
    s.route('GET', `/files/${file}`, async () => {
      if (i === 1) await pg.stop();
      return { status: 200, body };
    });
  }
  const warehouse = await openWarehouse({
    databaseUrl: pg.url,
    home: mkdtempSync(join(tmpdir(), 'fhir-etl-home-')),
    poolSize: 6,
  });
  t.teardown(() => warehouse.close());
  const config = configSchema.parse({
    sources: [
      {
        name: 'gone',
        kind: 'bulk',
        baseUrl: `${s.url}/fhir`,
        export: { concurrency: 1 },
        auth: { type: 'none' },
      },
    ],
  });
  const load = await prepareLoad(warehouse.db, { views: [] });

  const result = await recordRun(
    warehouse.db,
    { command: 'run', source: 'gone' },
    (run) =>
      runBulkExport({
        source: config.sources[0] as BulkSourceConfig,
        load,
        client: createHttpClient(),
        request: {},
        run,
        logger: pino({ level: 'silent' }),
      }).then(() => undefined),
    // The run's end waits for the warehouse: bring it back.
    { onWarehouseWait: () => void pg.start() },
  );

  t.is(result.status, 'failed');
  t.regex(
    result.error ?? '',
    /^the warehouse postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres stopped answering \(.+\) during export \d+: 1 of 6 files committed, no other file was started; run again once it is back/,
  );
  t.false((result.error ?? '').includes('\n'));
  const requested = s.requests.filter((r) => r.path.startsWith('/files/')).map((r) => r.path);
  t.false(
    requested.some((path) => /f[2-5]/.test(path)),
    `no file after the second was asked for: ${requested.join(',')}`,
  );
  const [job] = await warehouse.db.query(sql`SELECT state FROM fhir_etl.bulk_exports WHERE source = 'gone'`);
  t.is(job.state, 'downloading', 'the next run resumes it');
  const [{ n }] = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir_raw.patient WHERE source = 'gone'`,
  );
  t.is(n, 5, 'exactly the committed file landed');
});
