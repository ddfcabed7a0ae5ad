import { sql } from '@databases/pg';
import test from 'ava';
import {
  ConsoleAuthRequiredError,
  ConsoleRoleTooStrongError,
  consoleAuthFromEnv,
  startConsole,
} from '../ui/index.ts';
import {
  cookiesOf,
  createReaderRole,
  csrfTokenOf,
  loadInterleavedMembers,
  type ReaderRole,
  startTestConsole,
} from './helpers/console.ts';
import { createTestWarehouse, type TestWarehouse } from './helpers/warehouse.ts';

/** The console's security promises (this is PHI), over plain HTTP against a real server. */

let warehouse: TestWarehouse;
let reader: ReaderRole;
let members: Awaited<ReturnType<typeof loadInterleavedMembers>>;

test.before(async () => {
  warehouse = await createTestWarehouse();
  members = await loadInterleavedMembers(warehouse, { patients: 2, source: 'files' });
  reader = await createReaderRole(warehouse);
});
test.after.always(async () => {
  await reader?.drop();
  await warehouse?.drop();
});

const BASIC = { user: 'analyst', password: 'correct horse battery' };
const basicHeader = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

test('binding beyond loopback without authentication is refused before it listens (exit 2)', async (t) => {
  for (const host of ['0.0.0.0', '::', '192.0.2.10']) {
    const error = await t.throwsAsync(startConsole({ db: reader.db, host, port: 0 }), {
      instanceOf: ConsoleAuthRequiredError,
    });
    t.is(error?.kind, 'input');
    t.regex(error?.message ?? '', /FHIR_ETL_UI_TOKEN/);
  }
});

test('authentication comes from the environment, complete and long enough', (t) => {
  t.is(consoleAuthFromEnv({}), undefined);
  t.deepEqual(consoleAuthFromEnv({ FHIR_ETL_UI_TOKEN: 'a'.repeat(32) }), { bearerToken: 'a'.repeat(32) });
  t.throws(() => consoleAuthFromEnv({ FHIR_ETL_UI_TOKEN: 'short' }), { message: /at least 16/ });
  t.throws(() => consoleAuthFromEnv({ FHIR_ETL_UI_USER: 'analyst' }), { message: /FHIR_ETL_UI_PASSWORD/ });
});

test('on a non-loopback binding an unauthenticated request is refused; basic and bearer pass', async (t) => {
  const token = 'x'.repeat(40);
  const ui = await startTestConsole(reader, { host: '0.0.0.0', auth: { basic: BASIC, bearerToken: token } });
  t.teardown(() => ui.close());
  const url = ui.url.replace('0.0.0.0', '127.0.0.1');
  const refused = await fetch(url);
  t.is(refused.status, 401);
  t.regex(refused.headers.get('www-authenticate') ?? '', /^Basic realm=/);
  t.is(refused.headers.get('cache-control'), 'no-store');
  t.is(
    (await fetch(url, { headers: { authorization: basicHeader('analyst', 'wrong password!') } })).status,
    401,
  );
  t.is(
    (await fetch(url, { headers: { authorization: basicHeader('someone', BASIC.password) } })).status,
    401,
  );
  t.is((await fetch(url, { headers: { authorization: `Bearer ${'y'.repeat(40)}` } })).status, 401);
  t.is((await fetch(`${url}assets/console.css`)).status, 401, 'assets too');
  t.is(
    (await fetch(url, { headers: { authorization: basicHeader('analyst', BASIC.password) } })).status,
    200,
  );
  t.is((await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status, 200);
});

test('every response carries no-store, a CSP without inline script or other origins, and anti-framing', async (t) => {
  const ui = await startTestConsole(reader);
  t.teardown(() => ui.close());
  for (const path of [
    '',
    'members',
    'analytics',
    'runs/1',
    'assets/charts.js',
    'no-such-page',
    'members/forged',
  ]) {
    const response = await fetch(`${ui.url}${path}`);
    const csp = response.headers.get('content-security-policy') ?? '';
    t.is(response.headers.get('cache-control'), 'no-store', path);
    t.regex(csp, /default-src 'none'/, path);
    t.regex(csp, /script-src 'self'(;|$)/, path);
    t.regex(csp, /frame-ancestors 'none'/, path);
    t.notRegex(csp, /unsafe-inline|unsafe-eval|https?:|\*/, path);
    t.is(response.headers.get('x-frame-options'), 'DENY', path);
    t.is(response.headers.get('x-content-type-options'), 'nosniff', path);
    t.is(response.headers.get('referrer-policy'), 'no-referrer', path);
  }
});

test('the console is read-only: no route writes, and the only POST is the CSRF-protected search', async (t) => {
  const ui = await startTestConsole(reader);
  t.teardown(() => ui.close());
  for (const method of ['PUT', 'PATCH', 'DELETE']) {
    for (const path of ['', 'members', 'members/search', 'runs/1']) {
      t.is((await fetch(`${ui.url}${path}`, { method })).status, 404, `${method} /${path}`);
    }
  }
  t.is((await fetch(`${ui.url}runs/1`, { method: 'POST' })).status, 404);
  // A search without the form's token and cookie (a cross-site POST) is refused.
  const forged = await fetch(`${ui.url}members/search`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ q: members[0]!.memberId }),
  });
  t.is(forged.status, 403);
  t.notRegex(await forged.text(), new RegExp(members[0]!.memberId));
  // The form's token with another browser's cookie is refused too.
  const form = await fetch(`${ui.url}members`);
  const token = csrfTokenOf(await form.text());
  const other = await fetch(`${ui.url}members`);
  const mismatched = await fetch(`${ui.url}members/search`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookiesOf(other) },
    body: new URLSearchParams({ _csrf: token, q: members[0]!.memberId }),
  });
  t.is(mismatched.status, 403);
});

test('a search goes by POST and its results link to members by handles that name no one', async (t) => {
  const ui = await startTestConsole(reader);
  t.teardown(() => ui.close());
  const form = await fetch(`${ui.url}members`);
  const page = await form.text();
  t.regex(page, /<form class="search" method="post" action="\/members\/search"/);
  const found = await fetch(`${ui.url}members/search`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookiesOf(form) },
    body: new URLSearchParams({ _csrf: csrfTokenOf(page), q: members[1]!.memberId }),
  });
  t.is(found.status, 200);
  const results = await found.text();
  const links = [...results.matchAll(/href="(\/members\/[^"]+)"/g)].map((m) => m[1]!);
  t.is(links.length, 1);
  for (const link of links) {
    t.false(link.includes(members[1]!.memberId));
    t.false(link.includes(members[1]!.patientId));
  }
  // A handle is sealed: altering it reaches no one.
  const link = links[0]!;
  const forged = `${link.slice(0, -2)}${link.endsWith('AA') ? 'BB' : 'AA'}`;
  t.is((await fetch(`${ui.url}${forged.slice(1)}`)).status, 404);
});

test('every view of a member is audited: who, which member, rendered or raw, as which role', async (t) => {
  const ui = await startTestConsole(reader, { host: '127.0.0.1', auth: { basic: BASIC } });
  t.teardown(() => ui.close());
  const authorization = basicHeader(BASIC.user, BASIC.password);
  const form = await fetch(`${ui.url}members`, { headers: { authorization } });
  const found = await fetch(`${ui.url}members/search`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', cookie: cookiesOf(form) },
    body: new URLSearchParams({ _csrf: csrfTokenOf(await form.text()), q: members[0]!.memberId }),
  });
  const link = /href="\/(members\/[^"]+)"/.exec(await found.text())![1]!;
  t.is((await fetch(`${ui.url}${link}`, { headers: { authorization } })).status, 200);
  t.is((await fetch(`${ui.url}${link}/raw`, { headers: { authorization } })).status, 200);
  const audit = await warehouse.db.query(sql`
    SELECT viewer, db_role, source, patient_id, view FROM fhir_etl.member_views ORDER BY id`);
  t.deepEqual(
    audit.map((a) => [a.viewer, a.db_role, a.source, a.patient_id, a.view]),
    [
      [BASIC.user, reader.name, 'files', members[0]!.patientId, 'record'],
      [BASIC.user, reader.name, 'files', members[0]!.patientId, 'raw'],
    ],
  );
  // The reader can record a view only through the function, never write the table itself.
  await t.throwsAsync(
    reader.db.query(sql`INSERT INTO fhir_etl.member_views (viewer, db_role, source, patient_id, view)
                        VALUES ('x', 'x', 'x', 'x', 'raw')`),
    { message: /permission denied/ },
  );
});

test('the console refuses a role that can read the sealed member tokens (the loader)', async (t) => {
  const error = await t.throwsAsync(startConsole({ db: warehouse.db, port: 0 }), {
    instanceOf: ConsoleRoleTooStrongError,
  });
  t.is(error?.kind, 'input');
});
