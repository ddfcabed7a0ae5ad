import { sql } from '@databases/pg';
import test from 'ava';
import { ndjson, outcome, runBulk } from './helpers/bulk-server.ts';
import { bulkSource, kickOffAccepted, scriptedServer } from './helpers/bulk-run.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

/**
 * Many error files committing at once (servers that put informational OperationOutcomes in
 * error files write one per type, or per page): each one's transaction inserts into
 * fhir_etl.bulk_errors and then settles its file under the export's row. The warehouse's
 * deadlock counter is checked when the file's tests end (noDeadlocks): a deadlock that
 * PostgreSQL broke and a retry absorbed would still fail this file.
 */

const CONCURRENCY = 8;
// A run holds one file transaction per download in flight, plus connections for DDL, run records and the source lock.
const warehouse = useTestWarehouse(test, { poolSize: CONCURRENCY + 3, noDeadlocks: true });

const TRANSACTION_TIME = '2026-02-01T10:00:00.000Z';

test('200 error files and 50 data files at concurrency 8 load in one run, without one deadlock', async (t) => {
  const s = await scriptedServer(t);
  const errorFiles = Array.from({ length: 200 }, (_, i) => ({
    type: 'OperationOutcome',
    url: `${s.url}/files/error-${i}.ndjson`,
  }));
  const dataFiles = Array.from({ length: 50 }, (_, i) => ({
    type: 'Patient',
    url: `${s.url}/files/patient-${i}.ndjson`,
  }));
  s.route('GET', '/fhir/$export', kickOffAccepted(s));
  s.route('GET', '/status/job1', {
    status: 200,
    json: {
      transactionTime: TRANSACTION_TIME,
      requiresAccessToken: false,
      output: dataFiles,
      error: errorFiles,
    },
  });
  s.route('DELETE', '/status/job1', { status: 202 });
  for (let i = 0; i < 200; i++) {
    const line = JSON.stringify(outcome('informational', `page ${i} exported`, 'information'));
    s.route('GET', `/files/error-${i}.ndjson`, { status: 200, body: `${line}\n${line}\n` });
  }
  for (let i = 0; i < 50; i++) {
    s.route('GET', `/files/patient-${i}.ndjson`, { status: 200, body: ndjson('Patient', 20, `p${i}-`) });
  }

  const result = await runBulk(warehouse.db, bulkSource(s, 'many-errors', { concurrency: CONCURRENCY }));

  t.is(result.status, 'succeeded', result.error);
  const [errors] = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir_etl.bulk_errors WHERE source = 'many-errors'`,
  );
  t.is(errors.n, 400, 'two issues per error file, each recorded once');
  const [patients] = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir_raw.patient WHERE source = 'many-errors'`,
  );
  t.is(patients.n, 1000);
  const [job] = await warehouse.db.query(
    sql`SELECT state FROM fhir_etl.bulk_exports WHERE source = 'many-errors'`,
  );
  t.is(job.state, 'completed');
  const retried = s.requests.filter((r) => r.path.startsWith('/files/')).length;
  t.is(retried, 250, 'every file downloaded once: no load was rolled back and tried again');
});
