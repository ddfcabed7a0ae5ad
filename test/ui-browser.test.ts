import { randomBytes } from 'node:crypto';
import { sql } from '@databases/pg';
import test from 'ava';
import type { Browser, Page } from 'playwright-core';
import pino from 'pino';
import { runDemo } from '../pipeline/demo.ts';
import type { RunningConsole } from '../ui/index.ts';
import { launchChromium } from './helpers/browser.ts';
import { createReaderRole, type ReaderRole, startTestConsole } from './helpers/console.ts';
import { createTestWarehouse, type TestWarehouse } from './helpers/warehouse.ts';
import { projectPath } from './helpers/project.ts';

/**
 * The console in a real browser on the sandbox's data (the demo's two sources: a Bulk export
 * and member logins to the payer API). Screenshots for the README are written to docs/images.
 */

const IMAGES = `${projectPath('docs', 'images')}/`;
/** The Bulk source: its members have coverage, claims and prior authorizations. */
const SOURCE = 'sandbox-provider';
const MEMBER = '01-testmemid';

let warehouse: TestWarehouse;
let reader: ReaderRole;
let ui: RunningConsole;
let browser: Browser;

test.before(async () => {
  process.env.FHIR_ETL_SECRET_KEY = randomBytes(32).toString('hex');
  warehouse = await createTestWarehouse();
  await runDemo(warehouse.db, {
    patients: 8,
    seed: 1,
    logger: pino({ level: 'silent' }),
    say: () => undefined,
  });
  // A refused refresh leaves a member needing login: the pipeline page must say what to run.
  await warehouse.db.query(
    sql`UPDATE fhir_etl.members SET needs_login = true, login_error = 'invalid_grant' WHERE member_label = '02-testmemid'`,
  );
  reader = await createReaderRole(warehouse);
  ui = await startTestConsole(reader, {
    schedules: new Map([
      ['sandbox-provider', '0 2 * * *'],
      ['sandbox-payer', undefined],
    ]),
  });
  browser = await launchChromium();
});
test.after.always(async () => {
  await browser?.close();
  await ui?.close();
  await reader?.drop();
  await warehouse?.drop();
});

/** The little of HTMLCanvasElement the test reads (the project's types have no DOM). */
interface CanvasLike {
  width: number;
  height: number;
  getContext(kind: '2d'): {
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  };
}

/** A fresh page that fails the test on any console error or CSP violation. */
async function openPage(t: {
  teardown(fn: () => Promise<void>): void;
}): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  t.teardown(() => context.close());
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning')
      problems.push(`${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('response', (response) => {
    if (response.status() === 404) problems.push(`404 ${response.url()}`);
  });
  return { page, problems };
}

test('every page opens, with no script error and no CSP violation', async (t) => {
  const { page, problems } = await openPage(t);
  const runs = await warehouse.db.query(sql`SELECT id FROM fhir_etl.runs ORDER BY id`);
  const paths = ['', 'members', 'analytics', ...runs.map((r) => `runs/${r.id}`)];
  for (const path of paths) {
    const response = await page.goto(`${ui.url}${path}`);
    t.is(response?.status(), 200, path);
    t.truthy(await page.locator('main h1').textContent(), path);
  }
  // Following the pipeline page's own links reaches each run.
  await page.goto(ui.url);
  await page.locator('#runs a').first().click();
  t.regex(await page.locator('main h1').innerText(), /^Run #\d+/);
  t.true((await page.locator('#files tbody tr').count()) > 0, 'the run lists its files');
  t.deepEqual(problems, []);
});

test('the pipeline page shows each source, the login to redo, and charts drawn and sized', async (t) => {
  const { page, problems } = await openPage(t);
  await page.goto(ui.url);
  const sources = await page.locator('table.sources tbody tr').allInnerTexts();
  t.is(sources.length, 2);
  t.regex(sources.join('\n'), /sandbox-provider\s+0 2 \* \* \*/);
  t.regex(
    await page.locator('#logins').innerText(),
    /fhir-etl auth login sandbox-payer --login-hint 02-testmemid/,
  );
  for (const id of ['resources-per-run', 'run-duration']) {
    const canvas = page.locator(`canvas[data-chart="${id}"]`);
    await canvas.and(page.locator('[data-rendered]')).waitFor();
    const box = await canvas.boundingBox();
    t.true((box?.width ?? 0) > 200 && (box?.height ?? 0) > 150, `${id} is sized: ${JSON.stringify(box)}`);
    // Something was drawn: the canvas is not blank.
    const inked = await canvas.evaluate((element) => {
      const c = element as unknown as CanvasLike;
      const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
      return false;
    });
    t.true(inked, `${id} has ink`);
  }
  await page.screenshot({ path: `${IMAGES}console-pipeline.png`, fullPage: true });
  t.deepEqual(problems, []);
});

test('the analytics page draws its four charts, each with its SQL one click away, its figures from SQL', async (t) => {
  const { page, problems } = await openPage(t);
  await page.goto(`${ui.url}analytics`);
  const ids = ['claims-per-month', 'top-diagnoses', 'pmpm', 'utilization'];
  for (const id of ids) {
    const canvas = page.locator(`canvas[data-chart="${id}"][data-rendered]`);
    await canvas.waitFor();
    const box = await canvas.boundingBox();
    t.true((box?.width ?? 0) > 200 && (box?.height ?? 0) > 150, `${id} is sized`);
    const card = page.locator('figure.chart-card', { has: page.locator(`canvas[data-chart="${id}"]`) });
    await card.locator('details.sql summary').click();
    t.regex(await card.locator('details.sql pre').innerText(), /SELECT[\s\S]+FROM/);
  }
  // The claims chart's data is what SQL says: as many claims in all as the view table holds.
  const data = JSON.parse((await page.locator('script#claims-per-month').textContent()) ?? '{}');
  const charted = (data.series as Array<{ label: string; values: number[] }>)
    .find((s) => s.label === 'claims')!
    .values.reduce((a, b) => a + b, 0);
  const [claims] = await warehouse.db.query(sql`
    SELECT count(*)::int AS n FROM fhir.explanation_of_benefit
    WHERE status NOT IN ('cancelled', 'entered-in-error') AND billable_period_start IS NOT NULL`);
  t.is(charted, claims.n);
  await page.screenshot({ path: `${IMAGES}console-analytics.png`, fullPage: true });
  t.deepEqual(problems, []);
});

test('search a member by POST, open the page; encounters and a claim paid total match SQL; raw FHIR matches fhir_raw', async (t) => {
  const { page, problems } = await openPage(t);
  const posts: string[] = [];
  page.on('request', (request) => {
    if (request.method() === 'POST') posts.push(request.url());
  });
  await page.goto(`${ui.url}members`);
  await page.fill('input[name="q"]', MEMBER);
  await Promise.all([page.waitForURL(`${ui.url}members/search`), page.click('button[type="submit"]')]);
  t.deepEqual(posts, [`${ui.url}members/search`], 'the search went by POST, its terms in no URL');
  const row = page.locator('table.results tbody tr', { hasText: SOURCE });
  await row.locator('a').click();
  await page.locator('#encounters').waitFor();
  t.false(page.url().includes(MEMBER), 'the member page URL names no one');

  const [patient] = await warehouse.db.query(
    sql`SELECT id FROM fhir.patient WHERE _source = ${SOURCE} AND member_id = ${MEMBER}`,
  );
  const [encounters] = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir.encounter WHERE _source = ${SOURCE} AND patient_id = ${patient.id}`,
  );
  t.is(await page.locator('#encounters ol.timeline li').count(), encounters.n);
  t.is(await page.locator('#encounters').getAttribute('data-count'), String(encounters.n));
  t.regex(await page.locator('#encounters .provenance').innerText(), /from sandbox-provider, run #\d+/);

  const claimRow = page.locator('tr[data-claim-id]').first();
  const claimId = await claimRow.getAttribute('data-claim-id');
  const [claim] = await warehouse.db.query(sql`
    SELECT total_paid_amount::float8 AS paid FROM fhir.explanation_of_benefit
    WHERE _source = ${SOURCE} AND id = ${claimId} AND patient_id = ${patient.id}`);
  t.is(Number(await claimRow.locator('[data-paid]').getAttribute('data-paid')), claim.paid);
  const [all] = await warehouse.db.query(sql`
    SELECT sum(total_paid_amount)::numeric(14,2)::text AS paid FROM fhir.explanation_of_benefit
    WHERE _source = ${SOURCE} AND patient_id = ${patient.id}`);
  t.is((await page.locator('[data-claims-paid]').innerText()).replace(/,/g, ''), all.paid);
  await page.screenshot({ path: `${IMAGES}console-member.png`, fullPage: false });
  await claimRow.locator('xpath=following-sibling::tr[1]//summary').click();
  await page.locator('#claims').screenshot({ path: `${IMAGES}console-member-claims.png` });

  await page.click('#raw-toggle');
  await page.locator('details.raw').first().waitFor();
  const shown = await page
    .locator('#encounters details.raw')
    .evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-resource-id')));
  const stored = await warehouse.db.query(sql`
    SELECT id FROM fhir_raw.encounter
    WHERE source = ${SOURCE} AND resource->'subject'->>'reference' = ${`Patient/${patient.id}`} ORDER BY id`);
  t.deepEqual(
    shown,
    stored.map((r) => r.id),
  );
  const patientJson = await page.locator('#demographics details.raw pre').innerText();
  t.is(JSON.parse(patientJson).id, patient.id);
  await page.screenshot({ path: `${IMAGES}console-member-raw.png`, fullPage: false });

  const audit = await warehouse.db.query(
    sql`SELECT view FROM fhir_etl.member_views WHERE patient_id = ${patient.id} AND source = ${SOURCE} ORDER BY id`,
  );
  t.deepEqual(
    audit.map((a) => a.view),
    ['record', 'raw'],
  );
  t.deepEqual(problems, []);
});

test('in the browser: an unauthenticated request to a non-loopback binding is refused', async (t) => {
  const token = randomBytes(24).toString('hex');
  const basic = { user: 'analyst', password: 'correct horse battery' };
  const guarded = await startTestConsole(reader, { host: '0.0.0.0', auth: { bearerToken: token, basic } });
  t.teardown(() => guarded.close());
  const url = guarded.url.replace('0.0.0.0', '127.0.0.1');
  // The browser is asked for a login (Basic) and, having none, gets nothing of the page.
  const { page } = await openPage(t);
  const refused = await page.goto(url).then(
    (response) => `status ${response?.status()}`,
    (error: Error) => error.message,
  );
  t.regex(refused, /ERR_INVALID_AUTH_CREDENTIALS|status 401/);
  // And a script or proxy without the bearer token gets a 401 and no data.
  const response = await page.request.get(url);
  t.is(response.status(), 401);
  t.notRegex(await response.text(), /sandbox-provider/);
  // With the login it opens.
  const context = await browser.newContext({
    httpCredentials: { username: basic.user, password: basic.password },
  });
  t.teardown(() => context.close());
  const signedIn = await context.newPage();
  t.is((await signedIn.goto(url))?.status(), 200);
  t.regex(await signedIn.locator('header .viewer').innerText(), /signed in: analyst/);
});

test('in the browser: responses carry no-store, the CSP and anti-framing headers', async (t) => {
  const { page } = await openPage(t);
  const seen: Array<Record<string, string>> = [];
  page.on('response', (response) => {
    if (response.url().startsWith(ui.url)) seen.push(response.headers());
  });
  await page.goto(ui.url);
  await page.locator('canvas[data-rendered]').first().waitFor();
  t.true(seen.length >= 4, 'the page, its stylesheet and scripts');
  for (const headers of seen) {
    t.is(headers['cache-control'], 'no-store');
    t.regex(
      headers['content-security-policy'] ?? '',
      /default-src 'none'.*script-src 'self'.*frame-ancestors 'none'/,
    );
    t.is(headers['x-frame-options'], 'DENY');
  }
});
