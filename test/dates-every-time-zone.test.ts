import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import test from 'ava';
import { CLAIMS_PER_MEMBER_MONTH, DEMO_SOURCES } from '../pipeline/demo.ts';
import { writeNdjson } from '../sandbox/index.ts';
import { runMain } from './helpers/main.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';
import { projectRoot } from './helpers/project.ts';

/**
 * Dates that are dates: calendar dates (billable, coverage, service and admission periods) land
 * in `date` columns, so every example query the README, the docs and the demo show returns the
 * same rows whatever time zone the session (a BI tool, psql) has set.
 */
const warehouse = useTestWarehouse(test);
const ZONES = ['UTC', 'America/New_York', 'Pacific/Kiritimati', 'Pacific/Pago_Pago'];
const COVERED_ON = '2025-12-31';
/** The case: how many members a date's coverage query finds. */
const COVERED_ON_QUERY = `select count(distinct patient_id) as members from fhir.coverage
  where period_start <= date '${COVERED_ON}' and (period_end is null or period_end >= date '${COVERED_ON}')`;

let data = '';
/** The demo's own data set (its default size and seed), loaded as the demo's bulk source. */
test.serial.before(async () => {
  data = await mkdtemp(join(tmpdir(), 'fhir-etl-zones-'));
  await writeNdjson(data, { patients: 50, seed: 1 });
  const loaded = await runMain([
    'load',
    '--database-url',
    warehouse.url,
    '--source',
    DEMO_SOURCES.provider,
    data,
  ]);
  if (loaded.code !== 0) throw new Error(`load failed: ${loaded.stderr}`);
});

test.serial(
  'every example query in README, docs and the demo returns the same rows in every time zone',
  async (t) => {
    const queries = exampleQueries();
    t.true(queries.length >= 5, `found ${queries.length} example queries`);
    for (const { where, query } of queries) {
      const answers = await Promise.all(ZONES.map((zone) => rowsIn(zone, query)));
      for (const [i, zone] of ZONES.entries())
        t.deepEqual(answers[i], answers[0], `${where} under ${zone}:\n${query}`);
    }
  },
);

test.serial(
  "the demo's claims per month count each claim in the month it was billed, under New York time",
  async (t) => {
    const perMonth = new Map<string, number>();
    for (const eob of resources('ExplanationOfBenefit')) {
      if (eob.use !== 'claim') continue;
      const month = String((eob.billablePeriod as { start: string }).start).slice(0, 7);
      perMonth.set(month, (perMonth.get(month) ?? 0) + 1);
    }
    const query = `select month, sum(claims)::int as claims from (${CLAIMS_PER_MEMBER_MONTH.replace(/LIMIT 10$/, '')}) q group by 1`;
    const rows = (await rowsIn('America/New_York', query)).map((row) => JSON.parse(row));
    t.deepEqual(
      Object.fromEntries(rows.map((row: { month: string; claims: number }) => [row.month, row.claims])),
      Object.fromEntries(perMonth),
    );
  },
);

test.serial(
  `"coverage active on ${COVERED_ON}" finds every member covered that day, in every time zone`,
  async (t) => {
    const covered = new Set<string>();
    for (const coverage of resources('Coverage')) {
      const period = coverage.period as { start: string; end?: string };
      if (period.start <= COVERED_ON && (period.end === undefined || period.end >= COVERED_ON))
        covered.add(String((coverage.beneficiary as { reference: string }).reference));
    }
    t.true(covered.size > 0);
    for (const zone of ZONES)
      t.deepEqual(await rowsIn(zone, COVERED_ON_QUERY), [JSON.stringify({ members: covered.size })], zone);
  },
);

test.serial('calendar-date columns are date columns; the instants beside them keep their time', async (t) => {
  const types = await warehouse.db.query(sql`
    SELECT table_name || '.' || column_name AS column, data_type FROM information_schema.columns
    WHERE table_schema = 'fhir' AND column_name IN ('billable_period_start', 'period_start', 'period_start_at',
      'service_start', 'admission_start', 'created', 'created_at', 'birth_date', 'last_updated')
    ORDER BY 1`);
  const of = Object.fromEntries(
    types.map((r: { column: string; data_type: string }) => [r.column, r.data_type]),
  );
  t.like(of, {
    'coverage.period_start': 'date',
    'encounter.period_start': 'date',
    'encounter.period_start_at': 'timestamp with time zone',
    'eob_item.service_start': 'date',
    'explanation_of_benefit.admission_start': 'date',
    'explanation_of_benefit.billable_period_start': 'date',
    'explanation_of_benefit.created': 'date',
    'explanation_of_benefit.created_at': 'timestamp with time zone',
    'explanation_of_benefit.last_updated': 'timestamp with time zone',
    'patient.birth_date': 'date',
  });
});

/** A query's rows as the session in `zone` renders them (JSON text, so a timestamptz shows its zone). */
async function rowsIn(zone: string, query: string): Promise<string[]> {
  return warehouse.db.tx(async (tx) => {
    await tx.query(sql`SELECT set_config('TimeZone', ${zone}, true)`);
    const rows: Array<{ row: string }> = await tx.query(
      sql`SELECT row_to_json(q)::text AS row FROM (${sql.__dangerous__rawValue(query)}) q`,
    );
    return rows.map((r) => r.row);
  });
}

/** Every SELECT the README and docs show (```sql blocks and psql -c), and the demo's query. */
function exampleQueries(): Array<{ where: string; query: string }> {
  const root = projectRoot;
  const files = [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  const queries: Array<{ where: string; query: string }> = [];
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const block of text.matchAll(/```sql\n([\s\S]*?)```/g))
      for (const statement of (block[1] as string).split(/;\s*(?:\n|$)/))
        if (/^\s*(select|with)\b/i.test(statement)) queries.push({ where: file, query: statement.trim() });
    for (const inline of text.matchAll(/psql [^\n]*-c '([^']+)'/g))
      queries.push({ where: file, query: inline[1] as string });
  }
  queries.push({ where: 'the demo', query: CLAIMS_PER_MEMBER_MONTH });
  queries.push({ where: 'issue 11', query: COVERED_ON_QUERY });
  return queries;
}

function resources(type: string): Array<Record<string, unknown>> {
  return readFileSync(join(data, `${type}.ndjson`), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));
}

test.serial("a date column reads as the date it holds, whatever this process's time zone", async (t) => {
  const zone = process.env.TZ;
  process.env.TZ = 'Asia/Tokyo';
  t.teardown(() => {
    if (zone === undefined) delete process.env.TZ;
    else process.env.TZ = zone;
  });
  const [row] = await warehouse.db.query(sql`
    SELECT id, billable_period_start FROM fhir.explanation_of_benefit ORDER BY id LIMIT 1`);
  const eob = resources('ExplanationOfBenefit').find((r) => r.id === row.id);
  t.is(row.billable_period_start, (eob?.billablePeriod as { start: string }).start);
});
