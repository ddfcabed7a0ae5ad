import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import test from 'ava';
import { MARTS } from '../loaders/index.ts';
import { loadPaths } from '../pipeline/load.ts';
import { configuredViews } from '../pipeline/views.ts';
import { writeNdjson } from '../sandbox/index.ts';
import { createTestWarehouse, type TestWarehouse } from './helpers/warehouse.ts';

/**
 * The analytics marts (issue 12) on the sandbox's data, loaded by two sources holding the same
 * members: every mart's totals, per source, equal sums computed here from the EOB and Coverage
 * NDJSON independently of the loader, the views and the marts (so not doubled by the other source).
 */
const SOURCES = ['bulk', 'payer'];
const dir = mkdtempSync(join(tmpdir(), 'fhir-etl-marts-'));
let warehouse: TestWarehouse;
let truth: Truth;

test.before(async () => {
  warehouse = await createTestWarehouse();
  await writeNdjson(dir, { patients: 40, seed: 3 });
  const views = await configuredViews();
  for (const source of SOURCES) {
    const summary = await loadPaths(warehouse.db, {
      paths: [dir],
      source,
      concurrency: 2,
      maxLineBytes: 1 << 26,
      views,
    });
    if (summary.status !== 'succeeded') throw new Error(JSON.stringify(summary.outcomes));
  }
  const [{ today }] = await warehouse.db.query(sql`SELECT current_date::text AS today`);
  truth = computeTruth(dir, today);
});
test.after.always(async () => {
  await warehouse?.drop();
});

test('the marts exist in analytics with a comment on the view and on every column', async (t) => {
  for (const mart of MARTS) {
    const columns: Array<{ name: string; comment: string | null }> = await warehouse.db.query(sql`
      SELECT a.attname AS name, col_description(a.attrelid, a.attnum) AS comment FROM pg_attribute a
      WHERE a.attrelid = ${`analytics.${mart.name}`}::regclass AND a.attnum > 0 ORDER BY a.attnum`);
    t.deepEqual(
      columns.map((c) => c.name),
      Object.keys(mart.columns),
      mart.name,
    );
    t.true(
      columns.every((c) => (c.comment ?? '').length > 0),
      mart.name,
    );
    t.is(columns[0]?.name, '_source', `${mart.name} keeps _source`);
    const [view] = await warehouse.db.query(
      sql`SELECT obj_description(${`analytics.${mart.name}`}::regclass, 'pg_class') AS comment`,
    );
    t.truthy(view.comment);
  }
});

test('member and member_month: one row per member per source, and per covered month', async (t) => {
  const members = await perSource(sql`
    SELECT _source, count(*)::int AS members, count(*) FILTER (WHERE covered_today)::int AS covered_today,
           count(DISTINCT patient_id)::int AS distinct_members, count(payer_name)::int AS with_payer
    FROM analytics.member GROUP BY _source`);
  const months = await perSource(
    sql`SELECT _source, count(*)::int AS member_months FROM analytics.member_month GROUP BY _source`,
  );
  for (const source of SOURCES) {
    t.deepEqual(members[source], {
      members: truth.patients,
      covered_today: truth.coveredToday,
      distinct_members: truth.patients,
      with_payer: truth.withCoverage,
    });
    t.deepEqual(months[source], { member_months: truth.memberMonths });
  }
});

test('claim, claim_line, claim_diagnosis and claim_procedure totals equal the EOBs', async (t) => {
  const claims = await perSource(sql`
    SELECT _source, count(*)::int AS claims, sum(paid_amount)::text AS paid, sum(allowed_amount)::text AS allowed,
           sum(submitted_amount)::text AS submitted, sum(member_liability_amount)::text AS member_liability,
           count(*) FILTER (WHERE is_financial)::int AS financial, sum(lines)::int AS lines
    FROM analytics.claim GROUP BY _source`);
  const lines = await perSource(sql`
    SELECT _source, count(*)::int AS lines, sum(paid_amount)::text AS paid FROM analytics.claim_line GROUP BY _source`);
  const diagnoses = await perSource(sql`
    SELECT _source, count(*)::int AS diagnoses, count(*) FILTER (WHERE is_principal)::int AS principal
    FROM analytics.claim_diagnosis GROUP BY _source`);
  const procedures = await perSource(sql`
    SELECT _source, count(*)::int AS procedures FROM analytics.claim_procedure GROUP BY _source`);
  for (const source of SOURCES) {
    t.deepEqual(
      {
        ...claims[source],
        paid: cents(claims[source]?.paid),
        allowed: cents(claims[source]?.allowed),
        submitted: cents(claims[source]?.submitted),
        member_liability: cents(claims[source]?.member_liability),
      },
      {
        claims: truth.claims,
        paid: truth.paid,
        allowed: truth.allowed,
        submitted: truth.submitted,
        member_liability: truth.memberLiability,
        financial: truth.financial,
        lines: truth.lines,
      },
    );
    t.deepEqual(
      { ...lines[source], paid: cents(lines[source]?.paid) },
      { lines: truth.lines, paid: truth.linePaid },
    );
    t.deepEqual(diagnoses[source], { diagnoses: truth.diagnoses, principal: truth.principalDiagnoses });
    t.deepEqual(procedures[source], { procedures: truth.procedures });
  }
  // Claim keys join with _source: no claim matches rows of the other source.
  const [joined] = await warehouse.db.query(sql`
    SELECT count(*)::int AS n FROM analytics.claim c
    JOIN analytics.claim_line l ON l._source = c._source AND l.claim_id = c.claim_id`);
  t.is(joined.n, truth.lines * SOURCES.length);
});

test('pmpm: paid and allowed of covered members’ claims over member months', async (t) => {
  const pmpm = await perSource(sql`
    SELECT _source, sum(claims)::int AS claims, sum(paid_amount)::text AS paid, sum(allowed_amount)::text AS allowed,
           (SELECT sum(member_months)::int FROM (SELECT DISTINCT month, member_months FROM analytics.pmpm q
             WHERE q._source = p._source) m) AS member_months
    FROM analytics.pmpm p GROUP BY _source`);
  for (const source of SOURCES) {
    t.deepEqual(
      { ...pmpm[source], paid: cents(pmpm[source]?.paid), allowed: cents(pmpm[source]?.allowed) },
      {
        claims: truth.coveredClaims,
        paid: truth.coveredPaid,
        allowed: truth.coveredAllowed,
        member_months: truth.memberMonths,
      },
    );
  }
  const [row] = await warehouse.db.query(sql`
    SELECT paid_amount::text AS paid, member_months, paid_pmpm::text AS pmpm FROM analytics.pmpm
    WHERE _source = 'bulk' AND paid_amount > 0 ORDER BY month, claim_type LIMIT 1`);
  t.is(Number(row.pmpm), Math.round((Number(row.paid) / row.member_months) * 100) / 100);
});

test('utilization: admissions, emergency and office visits of covered members per 1,000 member months', async (t) => {
  const use = await perSource(sql`
    SELECT _source, sum(inpatient_admissions)::int AS inpatient, sum(emergency_visits)::int AS emergency,
           sum(office_visits)::int AS office, sum(member_months)::int AS member_months
    FROM analytics.utilization GROUP BY _source`);
  for (const source of SOURCES) {
    t.deepEqual(use[source], {
      inpatient: truth.inpatient,
      emergency: truth.emergency,
      office: truth.office,
      member_months: truth.memberMonths,
    });
  }
  t.true(truth.inpatient > 0 && truth.emergency > 0 && truth.office > 0 && truth.coveredPaid > 0);
  const [rate] = await warehouse.db.query(sql`
    SELECT office_visits, member_months, office_visits_per_1000::text AS rate FROM analytics.utilization
    WHERE _source = 'payer' AND office_visits > 0 ORDER BY month LIMIT 1`);
  t.is(Number(rate.rate), Math.round(((rate.office_visits * 1000) / rate.member_months) * 100) / 100);
});

async function perSource(query: ReturnType<typeof sql>): Promise<Record<string, Record<string, unknown>>> {
  const rows: Array<Record<string, unknown>> = await warehouse.db.query(query);
  return Object.fromEntries(rows.map(({ _source, ...rest }) => [_source as string, rest]));
}

/** An amount in cents, so sums compare exactly. */
function cents(value: unknown): number {
  return Math.round(Number(value ?? 0) * 100);
}

interface Truth {
  patients: number;
  withCoverage: number;
  coveredToday: number;
  memberMonths: number;
  claims: number;
  financial: number;
  paid: number;
  allowed: number;
  submitted: number;
  memberLiability: number;
  lines: number;
  linePaid: number;
  diagnoses: number;
  principalDiagnoses: number;
  procedures: number;
  coveredClaims: number;
  coveredPaid: number;
  coveredAllowed: number;
  inpatient: number;
  emergency: number;
  office: number;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function ndjson(name: string): Json[] {
  return readFileSync(join(dir, `${name}.ndjson`), 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as Json);
}

/** The marts' rules, applied to the NDJSON with plain JavaScript. */
function computeTruth(folder: string, today: string): Truth {
  void folder;
  const month = (date: string) => date.slice(0, 7);
  const code = (concept: Json | undefined) => concept?.coding?.[0]?.code as string | undefined;
  const patientOf = (reference: string | undefined) => reference?.replace(/^Patient\//, '');
  const amount = (entries: Json[] | undefined, category: string) =>
    (entries ?? []).find((e) => code(e.category) === category)?.amount?.value as number | undefined;

  const patients = ndjson('Patient');
  const coveredMonths = new Map<string, Set<string>>();
  const withCoverage = new Set<string>();
  const coveredToday = new Set<string>();
  for (const coverage of ndjson('Coverage')) {
    const patient = patientOf(coverage.beneficiary?.reference);
    const start = coverage.period?.start as string | undefined;
    if (!patient || !start || coverage.status !== 'active') continue;
    withCoverage.add(patient);
    const end = coverage.period?.end as string | undefined;
    if (start <= today && (!end || end >= today)) coveredToday.add(patient);
    const last = month(end && end < today ? end : today);
    const months = coveredMonths.get(patient) ?? new Set<string>();
    for (let m = month(start); m <= last; m = nextMonth(m)) months.add(m);
    coveredMonths.set(patient, months);
  }
  const covered = (patient: string | undefined, m: string) =>
    !!patient && !!coveredMonths.get(patient)?.has(m);

  const truth: Truth = {
    patients: patients.length,
    withCoverage: withCoverage.size,
    coveredToday: coveredToday.size,
    memberMonths: [...coveredMonths.values()].reduce((sum, months) => sum + months.size, 0),
    claims: 0,
    financial: 0,
    paid: 0,
    allowed: 0,
    submitted: 0,
    memberLiability: 0,
    lines: 0,
    linePaid: 0,
    diagnoses: 0,
    principalDiagnoses: 0,
    procedures: 0,
    coveredClaims: 0,
    coveredPaid: 0,
    coveredAllowed: 0,
    inpatient: 0,
    emergency: 0,
    office: 0,
  };
  const emergency = new Set<string>();
  const office = new Set<string>();
  for (const eob of ndjson('ExplanationOfBenefit')) {
    if (eob.use === 'preauthorization' || eob.status === 'entered-in-error') continue;
    const patient = patientOf(eob.patient?.reference);
    const items: Json[] = eob.item ?? [];
    const lineDates = items.map((i) => (i.servicedDate ?? i.servicedPeriod?.start) as string).filter(Boolean);
    const serviceStart = lineDates.length > 0 ? lineDates.sort()[0]! : (eob.billablePeriod?.start as string);
    const paid = amount(eob.total, 'benefit');
    const allowed = amount(eob.total, 'eligible');
    truth.claims++;
    if (eob.total) truth.financial++;
    truth.paid += cents(paid);
    truth.allowed += cents(allowed);
    truth.submitted += cents(amount(eob.total, 'submitted'));
    truth.memberLiability += cents(amount(eob.total, 'memberliability'));
    truth.lines += items.length;
    for (const item of items) truth.linePaid += cents(amount(item.adjudication, 'benefit'));
    truth.diagnoses += (eob.diagnosis ?? []).length;
    truth.principalDiagnoses += (eob.diagnosis ?? []).filter((d: Json) =>
      (d.type ?? []).some((t: Json) => code(t) === 'principal'),
    ).length;
    truth.procedures += (eob.procedure ?? []).length;
    if (eob.status === 'cancelled') continue;
    if (covered(patient, month(serviceStart))) {
      truth.coveredClaims++;
      truth.coveredPaid += cents(paid);
      truth.coveredAllowed += cents(allowed);
    }
    const type = code(eob.type);
    const typeOfBill = (eob.supportingInfo ?? []).find((s: Json) => code(s.category) === 'typeofbill');
    if (
      type === 'institutional' &&
      (code(eob.subType) === 'inpatient' || /^0?11/.test(code(typeOfBill?.code) ?? ''))
    ) {
      const admission = (eob.supportingInfo ?? []).find((s: Json) => code(s.category) === 'admissionperiod');
      if (covered(patient, month((admission?.timingPeriod?.start as string | undefined) ?? serviceStart)))
        truth.inpatient++;
    }
    for (const item of items) {
      const date = (item.servicedDate ?? item.servicedPeriod?.start) as string | undefined;
      if (!date || !covered(patient, month(date))) continue;
      const service = code(item.productOrService) ?? '';
      const place = code(item.locationCodeableConcept);
      if (/^045/.test(code(item.revenue) ?? '') || place === '23' || /^9928[1-5]$/.test(service))
        emergency.add(`${patient} ${date}`);
      if (type === 'professional' && (place === '11' || /^992(0[2-5]|1[1-5])$/.test(service)))
        office.add(`${patient} ${date}`);
    }
  }
  truth.emergency = emergency.size;
  truth.office = office.size;
  return truth;
}

function nextMonth(yearMonth: string): string {
  const [year, m] = yearMonth.split('-').map(Number) as [number, number];
  return m === 12 ? `${year + 1}-01` : `${year}-${String(m + 1).padStart(2, '0')}`;
}
