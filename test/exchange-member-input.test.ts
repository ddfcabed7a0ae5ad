import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { sql } from '@databases/pg';
import test from 'ava';
import { type Sandbox, startSandbox } from '../sandbox/index.ts';
import {
  backendServicesClient,
  clockAt,
  exchangeMembers,
  exchangeSource,
  MEMBER_COLUMNS,
  memberRow,
  runExchange,
  writeMembersCsv,
} from './helpers/exchange.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

/**
 * The member list is read and checked whole before anything is sent: a bad row fails the run
 * naming its line (or the query's row), every problem listed, and the prior payer hears nothing.
 * Serial: each test counts the requests the sandbox received.
 */

const warehouse = useTestWarehouse(test);
/** Typed as dates in the warehouse table: node-postgres reads them back as Dates, which the reader takes. */
const DATE_COLUMNS = new Set(['birth_date', 'consent_start', 'consent_end']);
let sandbox: Sandbox;
let keys: Awaited<ReturnType<typeof backendServicesClient>>;
const clock = clockAt('2026-06-01T08:00:00Z');

test.before(async () => {
  keys = await backendServicesClient();
  sandbox = await startSandbox({ patients: 6, retryAfterSeconds: 0, now: clock.now, clients: [keys.client] });
});
test.after.always(() => sandbox?.close());

async function runWith(name: string, members: { file: string } | { query: string }) {
  const requestsBefore = sandbox.requests.length;
  const run = await runExchange(warehouse.db, { ...exchangeSource(sandbox, members, keys), name }, clock);
  return { run, sent: sandbox.requests.length - requestsBefore };
}

async function matchesOf(source: string): Promise<number> {
  const [row] = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir_etl.exchange_matches WHERE source = ${source}`,
  );
  return row.n;
}

test.serial('a malformed CSV row is rejected with its line number before anything is sent', async (t) => {
  const file = await writeMembersCsv([
    memberRow(sandbox, 0),
    memberRow(sandbox, 1),
    memberRow(sandbox, 2, { birth_date: '1980-13-45', old_member_id: '', consent_policy: 'everything' }),
    memberRow(sandbox, 3),
  ]);

  const { run, sent } = await runWith('csv-bad', { file });

  t.is(run.status, 'failed');
  t.is(sent, 0, 'not a single request, not even for a token');
  t.is(await matchesOf('csv-bad'), 0);
  t.is(
    run.error,
    `the members in ${file} cannot be matched; nothing was sent to the prior payer:\n` +
      'line 4: birth_date is not a calendar date; old_member_id is required; consent_policy must be all or non-sensitive',
  );
  const [recorded] = await warehouse.db.query(
    sql`SELECT status, error FROM fhir_etl.runs WHERE source = 'csv-bad' ORDER BY id DESC LIMIT 1`,
  );
  t.is(recorded.status, 'failed');
  t.regex(recorded.error, /line 4: birth_date/);
});

test.serial('a quoted field over two lines keeps the line numbers of the rows after it', async (t) => {
  const file = await writeMembersCsv([
    memberRow(sandbox, 0, { address_line: '1 Main St\nApt 2' }),
    memberRow(sandbox, 1, { consent_end: '2025-01-01' }),
  ]);

  const { run, sent } = await runWith('csv-multiline', { file });

  t.is(sent, 0);
  t.regex(run.error ?? '', /\nline 4: consent_end is before consent_start$/);
});

test.serial('an unknown column and a repeated member id are named, with their lines', async (t) => {
  const misspelt = await writeMembersCsv([memberRow(sandbox, 0)]);
  await writeFile(misspelt, (await readFile(misspelt, 'utf8')).replace('consent_policy', 'consent_polcy'));
  t.regex(
    (await runWith('csv-column', { file: misspelt })).run.error ?? '',
    /\nline 1: unknown column consent_polcy$/,
  );

  const repeated = await writeMembersCsv([
    memberRow(sandbox, 0),
    memberRow(sandbox, 1, { member_id: 'NEW-0000' }),
  ]);
  const { run, sent } = await runWith('csv-repeat', { file: repeated });
  t.is(sent, 0);
  t.regex(run.error ?? '', /\nline 3: member_id NEW-0000 is also on line 2$/);
});

test.serial('an NDJSON member list: a line that is not JSON is named', async (t) => {
  const good = JSON.stringify(memberRow(sandbox, 0));
  const file = join(dirname(await writeMembersCsv([])), 'members.ndjson');
  await writeFile(file, `${good}\n{"member_id": "NEW-9",\n`);

  const { run, sent } = await runWith('ndjson-bad', { file });

  t.is(sent, 0);
  t.regex(run.error ?? '', /\nline 2: not valid JSON$/);
});

test.serial(
  'members from a SQL query on the warehouse: a bad row is named by row, a good list is matched',
  async (t) => {
    await warehouse.db.query(sql`CREATE SCHEMA enrollment`);
    await warehouse.db.query(
      sql.__dangerous__rawValue(
        `CREATE TABLE enrollment.p2p_members (${MEMBER_COLUMNS.map((c) => `${c} ${DATE_COLUMNS.has(c) ? 'date' : 'text'}`).join(', ')})`,
      ),
    );
    const insert = async (row: Record<string, string | undefined>) => {
      const columns = MEMBER_COLUMNS.filter((c) => row[c] !== undefined);
      await warehouse.db.query(sql`
      INSERT INTO enrollment.p2p_members (${sql.join(
        columns.map((c) => sql.ident(c)),
        ', ',
      )})
      VALUES (${sql.join(
        columns.map((c) => sql`${row[c]}`),
        ', ',
      )})`);
    };
    await insert(memberRow(sandbox, 1));
    await insert(memberRow(sandbox, 2, { gender: 'robot' }));
    const query = 'SELECT * FROM enrollment.p2p_members ORDER BY member_id';

    const bad = await runWith('sql-bad', { query });
    t.is(bad.sent, 0);
    t.is(
      bad.run.error,
      'the members in the members query cannot be matched; nothing was sent to the prior payer:\n' +
        'row 2: gender must be male, female, other or unknown',
    );

    await warehouse.db.query(
      sql`UPDATE enrollment.p2p_members SET gender = 'unknown' WHERE member_id = 'NEW-0002'`,
    );
    const good = await runWith('sql-good', { query });
    t.is(good.run.status, 'succeeded', good.run.error);
    const members = await exchangeMembers(warehouse.db, 'sql-good');
    t.deepEqual(
      members.map((m) => [m.member_id, m.outcome]),
      [
        ['NEW-0001', 'matched'],
        ['NEW-0002', 'not-matched'],
      ],
    );
  },
);
