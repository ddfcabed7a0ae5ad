import { sql } from '@databases/pg';
import test from 'ava';
import { startSandbox } from '../sandbox/index.ts';
import {
  backendServicesClient,
  clockAt,
  exchangeMembers,
  exchangeSource,
  memberRow,
  runExchange,
  writeMembersCsv,
} from './helpers/exchange.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

const warehouse = useTestWarehouse(test);

test.serial(
  'a date-of-service filter the prior payer cannot apply fails the pull with its 400, and nothing is loaded',
  async (t) => {
    const clock = clockAt('2026-06-01T08:00:00Z');
    const keys = await backendServicesClient();
    const sandbox = await startSandbox({
      patients: 4,
      retryAfterSeconds: 0,
      now: clock.now,
      clients: [keys.client],
    });
    t.teardown(() => sandbox.close());
    const file = await writeMembersCsv([memberRow(sandbox, 1), memberRow(sandbox, 2)]);
    const source = exchangeSource(sandbox, { file }, keys, {
      export: { dateOfService: { Encounter: 'date', AllergyIntolerance: 'recorded-date' }, include: [] },
    });

    const run = await runExchange(warehouse.db, source, clock);

    t.is(run.status, 'failed');
    t.regex(
      run.error ?? '',
      /\$davinci-data-export failed \(400\): search parameter recorded-date is not supported for AllergyIntolerance/,
    );
    t.deepEqual(
      (await exchangeMembers(warehouse.db)).map((m) => m.outcome),
      ['matched', 'matched'],
      'the match itself is kept',
    );
    const [loaded] = await warehouse.db.query(sql`SELECT count(*)::int AS n FROM fhir_etl.files`);
    t.is(loaded.n, 0);
    const [pull] = await warehouse.db.query(sql`SELECT state, error FROM fhir_etl.exchange_pulls`);
    t.is(pull.state, 'running');
    t.regex(pull.error, /400/);
  },
);

test.serial(
  'the token goes only to the prior payer: export files on another origin are refused until listed in tokenHosts',
  async (t) => {
    const clock = clockAt('2026-06-01T08:00:00Z');
    const keys = await backendServicesClient();
    const sandbox = await startSandbox({
      patients: 4,
      retryAfterSeconds: 0,
      now: clock.now,
      clients: [keys.client],
      fileOrigin: 'separate',
    });
    t.teardown(() => sandbox.close());
    const file = await writeMembersCsv([memberRow(sandbox, 1)]);
    const source = { ...exchangeSource(sandbox, { file }, keys), name: 'cdn' };

    const refused = await runExchange(warehouse.db, source, clock);

    t.is(refused.status, 'failed');
    t.regex(
      refused.error ?? '',
      /^security: the manifest requires the access token for a file on http:\/\/127\.0\.0\.1:\d+/,
    );
    t.false(
      sandbox.requests.some((r) => r.origin === sandbox.fileOriginUrl),
      'nothing was sent to the file origin',
    );

    const allowed = await runExchange(
      warehouse.db,
      { ...source, export: { maxPollIntervalSeconds: 0.05, tokenHosts: [sandbox.fileOriginUrl] } },
      clock,
    );
    t.is(allowed.status, 'succeeded', allowed.error);
    t.true(sandbox.requests.some((r) => r.origin === sandbox.fileOriginUrl && r.status === 200));
  },
);
