import test from 'ava';
import { DEFAULT_CLIENTS, startSandbox } from '../sandbox/index.ts';
import { memberToken, postForm, providerToken } from './helpers/sandbox.ts';

/**
 * Payer-to-Payer: member-scoped reads and searches, claims refused, and the send side.
 * (A client credentials token may read every member: the sandbox's back door for tests.)
 */

const sandbox = await startSandbox({ retryAfterSeconds: 0, pageSize: 5 });
test.after.always(() => sandbox.close());

const mayte = sandbox.members[0]!;
const sherie = sandbox.members[1]!;
let mayteToken = '';
test.before(async () => {
  mayteToken = (await memberToken(sandbox, mayte.memberId)).access_token;
});
const get = (path: string, token = mayteToken) =>
  fetch(`${sandbox.payerBaseUrl}/${path}`, { headers: { authorization: `Bearer ${token}` } });

interface Bundle {
  total: number;
  link: Array<{ relation: string; url: string }>;
  entry?: Array<{ resource: { id: string; subject?: { reference: string }; meta: { lastUpdated: string } } }>;
}

async function sendToken(memberId: string, scope = 'patient/*.c') {
  const response = await postForm(sandbox.tokenUrl, {
    grant_type: 'client_credentials',
    client_id: DEFAULT_CLIENTS.payer.clientId,
    client_secret: DEFAULT_CLIENTS.payer.clientSecret,
    scope,
    patient: memberId,
  });
  return (await response.json()) as { access_token: string; expires_in: number; patient: string };
}

test('a member reads their own Patient', async (t) => {
  const response = await get(`Patient/${mayte.patientId}`);
  t.is(response.status, 200);
  const patient = (await response.json()) as {
    name: Array<{ given: string[]; family: string }>;
    birthDate: string;
  };
  t.is(patient.birthDate, '2011-01-04');
  t.deepEqual(patient.name[0], { use: 'official', family: 'Venegas795', given: ['Mayte822'] } as never);
});

test('a member never sees another member: reads are 404, searches are empty', async (t) => {
  t.is((await get(`Patient/${sherie.patientId}`)).status, 404);
  const search = (await (await get(`Observation?patient=${sherie.patientId}`)).json()) as Bundle;
  t.is(search.total, 0);
  const everything = (await (await get('Observation?_count=1000')).json()) as Bundle;
  t.true(everything.total > 0);
  t.true(everything.entry!.every((e) => e.resource.subject?.reference === `Patient/${mayte.patientId}`));
});

test('searches page with absolute next links and a stable order; total counts every match', async (t) => {
  const seen: string[] = [];
  let url: string | undefined = `${sandbox.payerBaseUrl}/Observation?patient=Patient/${mayte.patientId}`;
  let total = -1;
  while (url) {
    const bundle = (await (
      await fetch(url, { headers: { authorization: `Bearer ${mayteToken}` } })
    ).json()) as Bundle;
    total = bundle.total;
    t.true((bundle.entry ?? []).length <= 5);
    seen.push(...(bundle.entry ?? []).map((e) => e.resource.id));
    url = bundle.link.find((l) => l.relation === 'next')?.url;
    if (url) t.true(url.startsWith(sandbox.payerBaseUrl));
  }
  t.is(seen.length, total);
  t.is(new Set(seen).size, total);
});

test('_lastUpdated with gt/ge/lt/le prefixes filters on meta.lastUpdated', async (t) => {
  const all = (await (await get('Encounter?_count=100')).json()) as Bundle;
  const stamps = all.entry!.map((e) => e.resource.meta.lastUpdated).sort();
  const middle = stamps[Math.floor(stamps.length / 2)]!;
  const count = async (query: string) =>
    ((await (await get(`Encounter?_lastUpdated=${query}`)).json()) as Bundle).total;
  t.is(await count(`ge${middle}`), stamps.filter((s) => s >= middle).length);
  t.is(await count(`gt${middle}`), stamps.filter((s) => s > middle).length);
  t.is(await count(`lt${middle}`), stamps.filter((s) => s < middle).length);
  t.is(await count(`le${middle}`), stamps.filter((s) => s <= middle).length);
  t.is((await get('Encounter?_lastUpdated=xx2024')).status, 400);
});

test('after advance(), _lastUpdated=gt<before> finds exactly the changed resources', async (t) => {
  // The sandbox's clock, moved by the test: the changes are later than `before` by construction.
  let clock = Date.now();
  const scoped = await startSandbox({ patients: 40, now: () => clock });
  try {
    const token = await providerToken(scoped);
    const before = new Date(clock).toISOString();
    clock += 1000;
    scoped.advance();
    let changed = 0;
    for (const type of ['Patient', 'Encounter', 'Condition', 'Observation']) {
      const response = await fetch(`${scoped.payerBaseUrl}/${type}?_count=1000&_lastUpdated=gt${before}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const bundle = (await response.json()) as Bundle;
      changed += bundle.total;
      t.true((bundle.entry ?? []).every((e) => e.resource.meta.lastUpdated > before));
    }
    t.true(changed > 0);
  } finally {
    await scoped.close();
  }
});

test('ExplanationOfBenefit, Coverage, Claim and ClaimResponse are refused with a 403 OperationOutcome', async (t) => {
  for (const type of ['ExplanationOfBenefit', 'Coverage', 'Claim', 'ClaimResponse']) {
    const response = await get(`${type}?patient=${mayte.patientId}`);
    t.is(response.status, 403, type);
    const outcome = (await response.json()) as {
      resourceType: string;
      issue: Array<{ code: string; diagnostics: string }>;
    };
    t.is(outcome.resourceType, 'OperationOutcome');
    t.regex(outcome.issue[0]!.diagnostics, /not available through the Payer-to-Payer API/);
  }
});

test('a send token posts for its member but cannot read, search or update', async (t) => {
  const send = await sendToken('01-testmemid');
  t.is(send.expires_in, 7200);
  t.is(send.patient, mayte.patientId);
  const created = await fetch(`${sandbox.payerBaseUrl}/Encounter`, {
    method: 'POST',
    headers: { authorization: `Bearer ${send.access_token}`, 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' } }),
  });
  t.is(created.status, 201);
  t.regex(created.headers.get('location')!, /\/payer\/r4\/Encounter\/sent-\d+\/_history\/1$/);
  t.true(sandbox.posted.some((p) => p.memberId === '01-testmemid'));
  t.is((await get(`Patient/${mayte.patientId}`, send.access_token)).status, 403);
  t.is((await get('Encounter', send.access_token)).status, 403);
  const update = await fetch(`${sandbox.payerBaseUrl}/Encounter/sent-1`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${send.access_token}`, 'content-type': 'application/fhir+json' },
    body: '{}',
  });
  t.is(update.status, 403);
});

test('a member token cannot POST', async (t) => {
  const response = await fetch(`${sandbox.payerBaseUrl}/Encounter`, {
    method: 'POST',
    headers: { authorization: `Bearer ${mayteToken}`, 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Encounter' }),
  });
  t.is(response.status, 403);
});

test('conditional create with If-None-Exist returns the existing resource instead of a duplicate', async (t) => {
  const send = await sendToken('02-testmemid', 'patient/Condition.c');
  const post = () =>
    fetch(`${sandbox.payerBaseUrl}/Condition`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${send.access_token}`,
        'content-type': 'application/fhir+json',
        'if-none-exist': 'identifier=https://old-payer.example/condition|C-1',
      },
      body: JSON.stringify({
        resourceType: 'Condition',
        identifier: [{ system: 'https://old-payer.example/condition', value: 'C-1' }],
      }),
    });
  const first = await post();
  t.is(first.status, 201);
  const second = await post();
  t.is(second.status, 200);
  t.is(((await second.json()) as { id: string }).id, ((await first.json()) as { id: string }).id);
  t.is(sandbox.posted.filter((p) => p.memberId === '02-testmemid').length, 1);
});

test('an invalid resource is a 400 OperationOutcome', async (t) => {
  const send = await sendToken('03-testmemid');
  for (const body of ['not json', JSON.stringify({ resourceType: 'Observation' }), JSON.stringify([1])]) {
    const response = await fetch(`${sandbox.payerBaseUrl}/Encounter`, {
      method: 'POST',
      headers: { authorization: `Bearer ${send.access_token}`, 'content-type': 'application/fhir+json' },
      body,
    });
    t.is(response.status, 400, body);
    t.is(((await response.json()) as { resourceType: string }).resourceType, 'OperationOutcome');
  }
});

test('a send token needs patient/X.c scopes', async (t) => {
  const response = await postForm(sandbox.tokenUrl, {
    grant_type: 'client_credentials',
    client_id: DEFAULT_CLIENTS.payer.clientId,
    client_secret: DEFAULT_CLIENTS.payer.clientSecret,
    scope: 'patient/*.rs',
    patient: '01-testmemid',
  });
  t.is(response.status, 400);
  t.is(((await response.json()) as { error: string }).error, 'invalid_scope');
});

test('requests without a token are 401 with WWW-Authenticate', async (t) => {
  const response = await fetch(`${sandbox.payerBaseUrl}/Patient/${mayte.patientId}`);
  t.is(response.status, 401);
  t.regex(response.headers.get('www-authenticate')!, /^Bearer/);
});
