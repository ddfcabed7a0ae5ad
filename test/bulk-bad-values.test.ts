import { sql } from '@databases/pg';
import test from 'ava';
import { DEFAULT_CLIENTS, startSandbox } from '../sandbox/index.ts';
import { checkpoint } from './helpers/bulk-run.ts';
import { runBulk } from './helpers/bulk-server.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

// Issue 11: a Bulk source that serves a value no column can hold (1970-02-30) failed on every
// run for ever. With the sandbox's bad-values fault, the run loads every resource, records
// each bad value, and advances its checkpoint.

const warehouse = useTestWarehouse(test);

test('a bulk export full of bad values loads every resource, records each value and advances the checkpoint', async (t) => {
  const sandbox = await startSandbox({ patients: 8, retryAfterSeconds: 0, faults: 'bad-values' });
  t.teardown(() => sandbox.close());
  const result = await runBulk(warehouse.db, {
    name: 'spoiled',
    baseUrl: sandbox.providerBaseUrl,
    export: { maxPollIntervalSeconds: 0.05, concurrency: 2 },
    auth: {
      type: 'client_credentials',
      tokenUrl: sandbox.tokenUrl,
      clientId: DEFAULT_CLIENTS.provider.clientId,
      clientSecret: DEFAULT_CLIENTS.provider.clientSecret,
      scope: 'bulk-data|user/*.rs',
    },
  });
  t.is(result.status, 'succeeded', result.error);
  t.truthy(await checkpoint(warehouse.db, 'spoiled'), 'the checkpoint moved on');
  const counts = async (table: string) => {
    const [row] = await warehouse.db.query(
      sql`SELECT count(*)::int AS n FROM ${sql.ident('fhir_raw', table)} WHERE source = 'spoiled'`,
    );
    return row.n as number;
  };
  const expected = {
    patient: { birth_date: await counts('patient') },
    coverage: { coverage_order: await counts('coverage') },
    medication_request: { refills_allowed: await counts('medication_request') },
  };
  t.true(
    expected.patient.birth_date > 0 &&
      expected.coverage.coverage_order > 0 &&
      expected.medication_request.refills_allowed > 0,
  );
  const recorded = await warehouse.db.query(sql`
    SELECT view_name, column_name, count(*)::int AS n, count(DISTINCT resource_id)::int AS resources,
           min(value) AS value, bool_and(file IS NOT NULL AND line > 0) AS located
    FROM fhir_etl.value_errors WHERE source = 'spoiled' GROUP BY 1, 2 ORDER BY 1, 2`);
  t.deepEqual(
    recorded.map((r) => [r.view_name, r.column_name, r.n, r.resources, r.value, r.located]),
    [
      [
        'coverage',
        'coverage_order',
        expected.coverage.coverage_order,
        expected.coverage.coverage_order,
        '3000000000',
        true,
      ],
      [
        'medication_request',
        'refills_allowed',
        expected.medication_request.refills_allowed,
        expected.medication_request.refills_allowed,
        '1.5',
        true,
      ],
      ['patient', 'birth_date', expected.patient.birth_date, expected.patient.birth_date, '1970-02-30', true],
    ],
  );
  const [patients] = await warehouse.db.query(
    sql`SELECT count(*)::int AS n, count(birth_date)::int AS dated FROM fhir.patient WHERE _source = 'spoiled'`,
  );
  t.deepEqual(patients, { n: expected.patient.birth_date, dated: 0 });
  t.is(
    result.valueErrors,
    recorded.reduce((sum, r) => sum + r.n, 0),
  );
});
