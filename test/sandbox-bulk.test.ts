import test from 'ava';
import { startSandbox } from '../sandbox/index.ts';
import { downloadLines, exportManifest, providerToken } from './helpers/sandbox.ts';

/** Provider Access: Bulk Data kick-off, polling, manifest, files, _since deltas, Groups. */

const sandbox = await startSandbox({ retryAfterSeconds: 0, patients: 12 });
test.after.always(() => sandbox.close());
let token = '';
test.before(async () => {
  token = await providerToken(sandbox);
});
const auth = () => ({ authorization: `Bearer ${token}` });

test('Group export end to end: 202, polls, manifest, gzip NDJSON files with the counted resources', async (t) => {
  const group = sandbox.groups[0]!;
  const manifest = await exportManifest(
    sandbox,
    token,
    `Group/${group.id}/$export?_type=Patient,Encounter,ExplanationOfBenefit`,
  );
  t.true(manifest.requiresAccessToken);
  t.deepEqual(manifest.error, []);
  t.deepEqual(
    manifest.output.map((o) => o.type),
    ['Patient', 'Encounter', 'ExplanationOfBenefit'],
  );
  const patients = (await downloadLines(manifest.output[0]!.url, token, true)).map(
    (l) => JSON.parse(l) as { id: string },
  );
  t.deepEqual(patients.map((p) => p.id).sort(), [...group.patientIds].sort());
  for (const file of manifest.output) {
    const lines = await downloadLines(file.url, token, true);
    t.is(lines.length, file.count, file.type);
    t.true(lines.every((line) => (JSON.parse(line) as { resourceType: string }).resourceType === file.type));
  }
  const plain = await downloadLines(manifest.output[1]!.url, token, false);
  t.is(plain.length, manifest.output[1]!.count);
});

test('the status URL answers 202 with X-Progress and Retry-After before the manifest', async (t) => {
  const kickOff = await fetch(`${sandbox.providerBaseUrl}/Patient/$export?_type=Patient`, {
    headers: { ...auth(), prefer: 'respond-async' },
  });
  t.is(kickOff.status, 202);
  const status = kickOff.headers.get('content-location')!;
  t.true(status.startsWith(sandbox.providerBaseUrl));
  const first = await fetch(status, { headers: auth() });
  t.is(first.status, 202);
  t.truthy(first.headers.get('x-progress'));
  t.is(first.headers.get('retry-after'), '0');
  const second = await fetch(status, { headers: auth() });
  t.is(second.status, 200);
  t.truthy(second.headers.get('expires'));
});

test('kick-off needs Prefer: respond-async and a token', async (t) => {
  t.is((await fetch(`${sandbox.providerBaseUrl}/$export`, { headers: auth() })).status, 400);
  t.is(
    (await fetch(`${sandbox.providerBaseUrl}/$export`, { headers: { prefer: 'respond-async' } })).status,
    401,
  );
});

test('POST kick-off takes a Parameters body, including patient', async (t) => {
  const patientId = sandbox.members[5]!.patientId;
  const manifest = await exportManifest(sandbox, token, '$export', {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify({
      resourceType: 'Parameters',
      parameter: [
        { name: '_type', valueString: 'Patient,Condition' },
        { name: 'patient', valueReference: { reference: `Patient/${patientId}` } },
      ],
    }),
  });
  const patients = await downloadLines(manifest.output.find((o) => o.type === 'Patient')!.url, token);
  t.deepEqual(
    patients.map((l) => (JSON.parse(l) as { id: string }).id),
    [patientId],
  );
});

test('POST Group/{id}/$davinci-data-export takes exportType; provider-delta needs _since', async (t) => {
  const url = `Group/${sandbox.groups[1]!.id}/$davinci-data-export`;
  const body = (parameter: unknown[]) => ({
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Parameters', parameter }),
  });
  const manifest = await exportManifest(
    sandbox,
    token,
    url,
    body([
      { name: 'exportType', valueCanonical: 'hl7.fhir.us.davinci-pdex#provider-download' },
      { name: '_type', valueString: 'Patient' },
    ]),
  );
  t.is(manifest.output[0]!.count, sandbox.groups[1]!.patientIds.length);
  const delta = await fetch(`${sandbox.providerBaseUrl}/${url}`, {
    ...body([{ name: 'exportType', valueCanonical: 'hl7.fhir.us.davinci-pdex#provider-delta' }]),
    headers: { ...auth(), prefer: 'respond-async', 'content-type': 'application/fhir+json' },
  });
  t.is(delta.status, 400);
});

test('_typeFilter narrows a type; an unsupported filter is refused with 400', async (t) => {
  const manifest = await exportManifest(
    sandbox,
    token,
    `$export?_type=Observation,ExplanationOfBenefit&_typeFilter=${encodeURIComponent('ExplanationOfBenefit?use=preauthorization')}`,
  );
  const eobs = await downloadLines(
    manifest.output.find((o) => o.type === 'ExplanationOfBenefit')!.url,
    token,
  );
  t.true(eobs.length > 0);
  t.true(eobs.every((l) => (JSON.parse(l) as { use: string }).use === 'preauthorization'));
  t.true(manifest.output.some((o) => o.type === 'Observation'));
  const refused = await fetch(
    `${sandbox.providerBaseUrl}/$export?_typeFilter=${encodeURIComponent('Observation?value-quantity=gt5')}`,
    {
      headers: { ...auth(), prefer: 'respond-async' },
    },
  );
  t.is(refused.status, 400);
  t.regex(
    ((await refused.json()) as { issue: Array<{ diagnostics: string }> }).issue[0]!.diagnostics,
    /value-quantity/,
  );
});

test.serial('_since after advance() lists exactly the changed resources and the deleted ones', async (t) => {
  const first = await exportManifest(sandbox, token, '$export');
  t.deepEqual(first.deleted, []);
  // advance() stamps its changes with the next tick of the sandbox, after the kick-off's.
  sandbox.advance();
  const delta = await exportManifest(
    sandbox,
    token,
    `$export?_since=${encodeURIComponent(first.transactionTime)}`,
  );
  t.true(delta.transactionTime > first.transactionTime);
  const changed = [];
  for (const file of delta.output)
    changed.push(
      ...(await downloadLines(file.url, token)).map(
        (l) => JSON.parse(l) as { meta: { lastUpdated: string; versionId: string } },
      ),
    );
  t.true(changed.length > 0);
  t.true(changed.every((r) => r.meta.lastUpdated > first.transactionTime));
  t.true(changed.some((r) => r.meta.versionId === '2'));
  t.is(delta.deleted.length, 1);
  const bundles = (await downloadLines(delta.deleted[0]!.url, token)).map(
    (l) => JSON.parse(l) as { type: string; entry: Array<{ request: { method: string; url: string } }> },
  );
  t.is(bundles.length, delta.deleted[0]!.count);
  for (const bundle of bundles) {
    t.is(bundle.type, 'transaction');
    t.is(bundle.entry[0]!.request.method, 'DELETE');
    t.regex(bundle.entry[0]!.request.url, /^(Observation|Immunization|AllergyIntolerance)\/[\w-]+$/);
  }
  const again = await exportManifest(
    sandbox,
    token,
    `$export?_since=${encodeURIComponent(delta.transactionTime)}`,
  );
  t.deepEqual(again.output, []);
});

test('DELETE on the status URL cancels: 202, then 404', async (t) => {
  const kickOff = await fetch(`${sandbox.providerBaseUrl}/$export`, {
    headers: { ...auth(), prefer: 'respond-async' },
  });
  const status = kickOff.headers.get('content-location')!;
  t.is((await fetch(status, { method: 'DELETE', headers: auth() })).status, 202);
  t.is((await fetch(status, { headers: auth() })).status, 404);
});

test('files need the token when requiresAccessToken is true', async (t) => {
  const manifest = await exportManifest(sandbox, token, '$export?_type=Patient');
  t.is((await fetch(manifest.output[0]!.url)).status, 401);
});

test('attribution Groups are readable by id and searchable by NPI identifier', async (t) => {
  const group = sandbox.groups[2]!;
  const read = (await (
    await fetch(`${sandbox.providerBaseUrl}/Group/${group.id}`, { headers: auth() })
  ).json()) as {
    identifier: Array<{ value: string }>;
    member: Array<{ entity: { reference: string } }>;
  };
  t.is(read.identifier[0]!.value, group.npi);
  t.deepEqual(
    read.member.map((m) => m.entity.reference),
    group.patientIds.map((id) => `Patient/${id}`),
  );
  const search = (await (
    await fetch(
      `${sandbox.providerBaseUrl}/Group?identifier=${encodeURIComponent(`http://hl7.org/fhir/sid/us-npi|${group.npi}`)}`,
      { headers: auth() },
    )
  ).json()) as { total: number; entry: Array<{ resource: { id: string } }> };
  t.is(search.total, 1);
  t.is(search.entry[0]!.resource.id, group.id);
  t.is((await fetch(`${sandbox.providerBaseUrl}/Group/nope`, { headers: auth() })).status, 404);
  t.is(sandbox.groups.flatMap((g) => g.patientIds).length, sandbox.members.length);
});

test('a separate file origin with requiresAccessToken false serves files without a token', async (t) => {
  const cdn = await startSandbox({
    retryAfterSeconds: 0,
    fileOrigin: 'separate',
    requiresAccessToken: false,
    patients: 4,
  });
  try {
    t.not(cdn.fileOriginUrl, cdn.url);
    const manifest = await exportManifest(cdn, await providerToken(cdn), '$export?_type=Patient');
    t.false(manifest.requiresAccessToken);
    t.true(manifest.output[0]!.url.startsWith(cdn.fileOriginUrl));
    t.is((await downloadLines(manifest.output[0]!.url)).length, 4);
    const fileRequests = cdn.requests.filter((r) => r.origin === cdn.fileOriginUrl);
    t.is(fileRequests.length, 1);
    t.true(fileRequests.every((r) => r.authorization === undefined));
  } finally {
    await cdn.close();
  }
});
