import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import test from 'ava';
import {
  acquireEmbedded,
  openWarehouse,
  releaseEmbedded,
  runningServer,
  startKept,
  stopKept,
} from '../loaders/index.ts';

// Its own home, so this test owns the server's whole lifecycle.
const home = mkdtempSync(join(tmpdir(), 'fhir-etl-home-'));
chmodSync(home, 0o755);

test.serial(
  'the embedded server starts on loopback, is shared while in use, and stops with its last user',
  async (t) => {
    const first = await acquireEmbedded(home);
    t.regex(first.url, /^postgres:\/\/fhir_etl:[^@]+@127\.0\.0\.1:\d+\/fhir_etl$/);
    const second = await acquireEmbedded(home);
    t.is(second.url, first.url);
    const warehouse = await openWarehouse({ databaseUrl: first.url });
    const [row] = await warehouse.db.query(sql`SELECT current_setting('listen_addresses') AS listen`);
    t.is(row.listen, '127.0.0.1');
    await warehouse.close();
    // Another live process (our parent stands in for one) keeps it running; a dead one does not.
    writeFileSync(join(home, 'postgres.users', String(process.ppid)), '');
    writeFileSync(join(home, 'postgres.users', '999999999'), '');
    await releaseEmbedded(home);
    t.truthy(await runningServer(home));
    rmSync(join(home, 'postgres.users', String(process.ppid)));
    await acquireEmbedded(home);
    await releaseEmbedded(home);
    t.is(await runningServer(home), undefined);
  },
);

test.serial('db start keeps the server running for other tools until db stop', async (t) => {
  const kept = await startKept(home);
  await acquireEmbedded(home);
  await releaseEmbedded(home);
  t.is((await runningServer(home))?.url, kept.url);
  t.true(await stopKept(home));
  t.is(await runningServer(home), undefined);
  t.false(await stopKept(home));
});

test.serial('as root, a home the postgres user cannot enter is refused with what to do', async (t) => {
  if (process.getuid?.() !== 0) {
    t.pass('not root: PostgreSQL runs as this user, who owns the home');
    return;
  }
  const hidden = mkdtempSync(join(tmpdir(), 'fhir-etl-private-'));
  const error = await t.throwsAsync(acquireEmbedded(join(hidden, 'home')));
  t.regex(error?.message ?? '', /cannot enter .*fhir-etl-private-.*Set FHIR_ETL_HOME/);
  t.regex(error?.message ?? '', /fhir-etl demo --database-url URL/);
});
