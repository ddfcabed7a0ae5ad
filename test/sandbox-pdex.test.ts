import test from 'ava';
import { type ExchangeMember, memberBundle, memberParts } from '../connectors/member-match/index.ts';
import { DEFAULT_CLIENTS, type Sandbox, startSandbox } from '../sandbox/index.ts';
import { postForm } from './helpers/sandbox.ts';

/**
 * The sandbox as a prior payer (Da Vinci PDex Payer-to-Payer), spoken to directly: how it
 * matches, which consents it refuses, the Groups it keeps, the exports it answers and refuses.
 */

const NOW = Date.parse('2026-06-01T08:00:00Z');
const requester = {
  payer: { system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567893', name: 'New Health Plan' },
  consentDocument: (id: string) => `https://new-plan.example.org/consents/${id}`,
};

async function sandboxAndToken(t: { teardown(fn: () => unknown): void }) {
  const sandbox = await startSandbox({
    patients: 6,
    retryAfterSeconds: 0,
    pollsBeforeReady: 0,
    now: () => NOW,
  });
  t.teardown(() => sandbox.close());
  const response = await postForm(`${sandbox.url}/p2p/oauth2/token`, {
    grant_type: 'client_credentials',
    client_id: DEFAULT_CLIENTS.provider.clientId,
    client_secret: DEFAULT_CLIENTS.provider.clientSecret,
    scope: 'system/*.rs',
  });
  const { access_token: token } = (await response.json()) as { access_token: string };
  return { sandbox, token };
}

function member(sandbox: Sandbox, index: number, overrides: Partial<ExchangeMember> = {}): ExchangeMember {
  const patient = sandbox.pdex.recordOf(index).find((r) => r.resourceType === 'Patient') as unknown as {
    name: Array<{ family: string; given: string[] }>;
    gender: ExchangeMember['gender'];
    birthDate: string;
  };
  return {
    memberId: `NEW-${index}`,
    given: patient.name[0]?.given ?? [],
    family: patient.name[0]?.family ?? '',
    birthDate: patient.birthDate,
    gender: patient.gender,
    oldMemberId: sandbox.members[index]?.memberId ?? '',
    oldPayer: { system: 'http://hl7.org/fhir/sid/us-npi', value: '1987654320', name: 'Sandbox Health Plan' },
    relationship: 'self',
    consent: { policy: 'all', start: '2026-01-01', end: '2026-12-31' },
    ...overrides,
  };
}

const fhir = (token: string) => ({
  authorization: `Bearer ${token}`,
  'content-type': 'application/fhir+json',
  prefer: 'respond-async',
});

/** A bulk match of these members: the Groups of its manifest, read the way a client would. */
async function bulkMatch(sandbox: Sandbox, token: string, members: ExchangeMember[]) {
  const body = {
    resourceType: 'Parameters',
    parameter: members.map((m, i) => memberBundle(m, `submitted-${i}`, requester)),
  };
  const kickOff = await fetch(`${sandbox.p2pBaseUrl}/Group/$bulk-member-match`, {
    method: 'POST',
    headers: fhir(token),
    body: JSON.stringify(body),
  });
  const manifest = (await (
    await fetch(kickOff.headers.get('content-location') ?? '', { headers: fhir(token) })
  ).json()) as { output: Array<{ url: string }> };
  const groups: Array<Record<string, unknown>> = [];
  for (const file of manifest.output)
    groups.push(JSON.parse(await (await fetch(file.url, { headers: fhir(token) })).text()));
  const byCode = (code: string) =>
    groups.find((g) => (g.code as { coding: Array<{ code: string }> }).coding[0]?.code === code);
  return { kickOff, groups, byCode };
}

test('a bulk match: demographics plus member id match; no such member and two candidates do not; consents are judged', async (t) => {
  const { sandbox, token } = await sandboxAndToken(t);
  const { kickOff, byCode } = await bulkMatch(sandbox, token, [
    member(sandbox, 1),
    member(sandbox, 2, { oldMemberId: 'MB00009999' }),
    member(sandbox, 3, { oldMemberId: sandbox.members[4]?.memberId ?? '' }),
    member(sandbox, 5, { consent: { policy: 'all', start: '2025-01-01', end: '2025-12-31' } }),
    member(sandbox, 0, { consent: { policy: 'non-sensitive', start: '2026-01-01', end: '2026-12-31' } }),
  ]);

  t.is(kickOff.status, 202);
  const matched = byCode('match') as { id: string; member: Array<{ entity: { reference: string } }> };
  t.deepEqual(
    matched.member.map((m) => m.entity.reference),
    [`Patient/${sandbox.members[1]?.patientId}`, `Patient/${sandbox.members[0]?.patientId}`],
  );
  const contained = (group: unknown) =>
    (group as { contained: Array<{ id: string }> }).contained.map((p) => p.id);
  t.deepEqual(contained(matched), ['submitted-0', 'submitted-4'], 'the submitted Patients, verbatim');
  t.deepEqual(contained(byCode('nomatch')), ['submitted-1', 'submitted-2']);
  t.deepEqual(contained(byCode('consentconstraint')), ['submitted-3']);
  const group = await fetch(`${sandbox.p2pBaseUrl}/Group/${matched.id}`, { headers: fhir(token) });
  t.is(group.status, 200);
});

test('$davinci-data-export: #payertopayer required, date-of-service _typeFilter honoured, 400 for a filter it cannot apply', async (t) => {
  const { sandbox, token } = await sandboxAndToken(t);
  const { byCode } = await bulkMatch(sandbox, token, [member(sandbox, 1)]);
  const groupId = (byCode('match') as { id: string }).id;
  const exportWith = (parameter: unknown[]) =>
    fetch(`${sandbox.p2pBaseUrl}/Group/${groupId}/$davinci-data-export`, {
      method: 'POST',
      headers: fhir(token),
      body: JSON.stringify({ resourceType: 'Parameters', parameter }),
    });
  const payerToPayer = { name: 'exportType', valueCanonical: 'hl7.fhir.us.davinci-pdex#payertopayer' };

  t.is((await exportWith([])).status, 400, 'exportType #payertopayer is required');
  const unsupported = await exportWith([
    payerToPayer,
    { name: '_typeFilter', valueString: 'AllergyIntolerance?recorded-date=ge2021-06-01' },
  ]);
  t.is(unsupported.status, 400);
  t.regex(await unsupported.text(), /search parameter recorded-date is not supported for AllergyIntolerance/);

  const filtered = await exportWith([
    payerToPayer,
    { name: '_typeFilter', valueString: 'Encounter?date=ge2023-01-01' },
  ]);
  t.is(filtered.status, 202);
  const manifest = (await (
    await fetch(filtered.headers.get('content-location') ?? '', { headers: fhir(token) })
  ).json()) as { output: Array<{ type: string; count: number }> };
  const encounters = sandbox.pdex
    .recordOf(1)
    .filter(
      (r) => r.resourceType === 'Encounter' && String((r.period as { start: string }).start) >= '2023-01-01',
    );
  t.is(manifest.output.find((o) => o.type === 'Encounter')?.count ?? 0, encounters.length);
});

test('a MatchedMembers Group expires: 410 for reads and exports', async (t) => {
  const { sandbox, token } = await sandboxAndToken(t);
  const { byCode } = await bulkMatch(sandbox, token, [member(sandbox, 1)]);
  const groupId = (byCode('match') as { id: string }).id;
  sandbox.pdex.settings.groupLifetimeDays = 0;
  const read = await fetch(`${sandbox.p2pBaseUrl}/Group/${groupId}`, { headers: fhir(token) });
  t.is(read.status, 410);
  const pull = await fetch(`${sandbox.p2pBaseUrl}/Group/${groupId}/$davinci-data-export`, {
    method: 'POST',
    headers: fhir(token),
    body: JSON.stringify({
      resourceType: 'Parameters',
      parameter: [{ name: 'exportType', valueCanonical: 'hl7.fhir.us.davinci-pdex#payertopayer' }],
    }),
  });
  t.is(pull.status, 410);
  const unknown = await fetch(`${sandbox.p2pBaseUrl}/Group/no-such-group`, { headers: fhir(token) });
  t.is(unknown.status, 404);
});

test('$member-match: 200 with MemberIdentifier and MemberId; 422 saying why; a member token only after a match', async (t) => {
  const { sandbox, token } = await sandboxAndToken(t);
  const matchOne = (m: ExchangeMember) =>
    fetch(`${sandbox.p2pBaseUrl}/Patient/$member-match`, {
      method: 'POST',
      headers: fhir(token),
      body: JSON.stringify({ resourceType: 'Parameters', parameter: memberParts(m, 'submitted', requester) }),
    });
  const memberToken = (patient: string) =>
    postForm(`${sandbox.url}/p2p/oauth2/token`, {
      grant_type: 'client_credentials',
      client_id: DEFAULT_CLIENTS.provider.clientId,
      client_secret: DEFAULT_CLIENTS.provider.clientSecret,
      scope: 'patient/*.rs',
      patient,
    });
  const patientId = sandbox.members[1]?.patientId ?? '';

  t.is((await memberToken(patientId)).status, 400, 'no member token before a match');
  const matched = await matchOne(member(sandbox, 1));
  t.is(matched.status, 200);
  const parameters = ((await matched.json()) as { parameter: Array<Record<string, unknown>> }).parameter;
  t.like(
    parameters.find((p) => p.name === 'MemberIdentifier'),
    {
      valueIdentifier: { value: sandbox.members[1]?.memberId },
    },
  );
  t.like(
    parameters.find((p) => p.name === 'MemberId'),
    { valueReference: { reference: `Patient/${patientId}` } },
  );
  const issued = await memberToken(patientId);
  t.is(issued.status, 200);
  t.like(await issued.json(), { patient: patientId, scope: 'patient/*.rs' });

  const unknown = await matchOne(member(sandbox, 2, { oldMemberId: 'MB00009999' }));
  t.is(unknown.status, 422);
  t.regex(await unknown.text(), /no unique member/);
  const ended = await matchOne(
    member(sandbox, 3, { consent: { policy: 'all', start: '2025-01-01', end: '2025-12-31' } }),
  );
  t.is(ended.status, 422);
  t.regex(
    await ended.text(),
    /consent request cannot be complied with: the consent period ended on 2025-12-31/,
  );
});
