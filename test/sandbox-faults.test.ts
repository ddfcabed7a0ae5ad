import { gunzipSync } from 'node:zlib';
import test from 'ava';
import { MALFORMED_LINE, parseFaults, startSandbox } from '../sandbox/index.ts';
import { exportManifest, providerToken, rawGet } from './helpers/sandbox.ts';

/** Each fault, switched on alone, does exactly what docs/sandbox.md says, a countable number of times. */

async function withSandbox(
  faults: string,
  run: (sandbox: Awaited<ReturnType<typeof startSandbox>>, token: string) => Promise<void>,
) {
  const sandbox = await startSandbox({ retryAfterSeconds: 0, patients: 4, faults, pollsBeforeReady: 0 });
  try {
    await run(sandbox, await providerToken(sandbox));
  } finally {
    await sandbox.close();
  }
}

async function kickOff(sandbox: Awaited<ReturnType<typeof startSandbox>>, token: string, type = 'Patient') {
  const response = await fetch(`${sandbox.providerBaseUrl}/$export?_type=${type}`, {
    headers: { authorization: `Bearer ${token}`, prefer: 'respond-async' },
  });
  return response.headers.get('content-location')!;
}

test('429: the first poll says Retry-After in seconds, the second as an HTTP-date, then polling works', async (t) => {
  await withSandbox('429', async (sandbox, token) => {
    const status = await kickOff(sandbox, token);
    const poll = () => fetch(status, { headers: { authorization: `Bearer ${token}` } });
    const first = await poll();
    t.is(first.status, 429);
    t.is(first.headers.get('retry-after'), '0');
    const second = await poll();
    t.is(second.status, 429);
    t.false(Number.isNaN(Date.parse(second.headers.get('retry-after')!)));
    t.regex(second.headers.get('retry-after')!, /GMT$/);
    t.is((await poll()).status, 200);
  });
});

test('500: one status poll fails with a transient OperationOutcome, the next succeeds', async (t) => {
  await withSandbox('500', async (sandbox, token) => {
    const status = await kickOff(sandbox, token);
    const failed = await fetch(status, { headers: { authorization: `Bearer ${token}` } });
    t.is(failed.status, 500);
    t.is(((await failed.json()) as { issue: Array<{ code: string }> }).issue[0]!.code, 'transient');
    t.is((await fetch(status, { headers: { authorization: `Bearer ${token}` } })).status, 200);
  });
});

test('410: the first download of each file is Gone; a re-polled manifest gives URLs that work', async (t) => {
  await withSandbox('410', async (sandbox, token) => {
    const first = await exportManifest(sandbox, token, '$export?_type=Patient,Coverage');
    for (const file of first.output)
      t.is((await rawGet(file.url, { authorization: `Bearer ${token}` })).status, 410);
    t.is((await rawGet(first.output[0]!.url, { authorization: `Bearer ${token}` })).status, 410);
    const statusUrl = sandbox.requests.find((r) => r.url.includes('/bulkstatus/'))!.url;
    const fresh = (await (
      await fetch(statusUrl, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as typeof first;
    t.not(fresh.output[0]!.url, first.output[0]!.url);
    for (const file of fresh.output)
      t.is((await rawGet(file.url, { authorization: `Bearer ${token}` })).status, 200);
  });
});

test('token-expiry: the first download of each file answers 401 and revokes the token; a new token works', async (t) => {
  await withSandbox('token-expiry', async (sandbox, token) => {
    const manifest = await exportManifest(sandbox, token, '$export?_type=Patient');
    const refused = await rawGet(manifest.output[0]!.url, { authorization: `Bearer ${token}` });
    t.is(refused.status, 401);
    t.regex(String(refused.headers['www-authenticate']), /invalid_token/);
    t.is((await rawGet(manifest.output[0]!.url, { authorization: `Bearer ${token}` })).status, 401);
    const renewed = await providerToken(sandbox);
    t.is((await rawGet(manifest.output[0]!.url, { authorization: `Bearer ${renewed}` })).status, 200);
  });
});

test('malformed: every file gets one extra line that is not JSON, as its second line', async (t) => {
  await withSandbox('malformed', async (sandbox, token) => {
    const manifest = await exportManifest(sandbox, token, '$export?_type=Patient');
    const lines = (await rawGet(manifest.output[0]!.url, { authorization: `Bearer ${token}` })).body
      .toString()
      .split('\n')
      .filter(Boolean);
    t.is(lines.length, manifest.output[0]!.count + 1);
    t.is(lines[1], MALFORMED_LINE);
    t.throws(() => JSON.parse(lines[1]!));
  });
});

test('truncated-gzip: the first gzip download is cut short, the second is whole', async (t) => {
  await withSandbox('truncated-gzip', async (sandbox, token) => {
    const manifest = await exportManifest(sandbox, token, '$export?_type=Observation');
    const headers = { authorization: `Bearer ${token}`, 'accept-encoding': 'gzip' };
    const cut = await rawGet(manifest.output[0]!.url, headers);
    t.is(cut.status, 200);
    t.throws(() => gunzipSync(cut.body));
    const whole = await rawGet(manifest.output[0]!.url, headers);
    t.is(gunzipSync(whole.body).toString().split('\n').filter(Boolean).length, manifest.output[0]!.count);
  });
});

test('slow: a file trickles out in small pieces but arrives whole', async (t) => {
  await withSandbox('slow', async (sandbox, token) => {
    const manifest = await exportManifest(sandbox, token, '$export?_type=Patient');
    const started = Date.now();
    const response = await rawGet(manifest.output[0]!.url, { authorization: `Bearer ${token}` });
    t.true(Date.now() - started >= 20);
    t.is(response.body.toString().split('\n').filter(Boolean).length, 4);
  });
});

test('setFaults switches faults on a running sandbox; unknown fault names are refused', async (t) => {
  await withSandbox('', async (sandbox, token) => {
    sandbox.setFaults({ '500': true });
    const status = await kickOff(sandbox, token);
    t.is((await fetch(status, { headers: { authorization: `Bearer ${token}` } })).status, 500);
  });
  t.throws(() => parseFaults('429,teapot'), { message: /teapot/ });
});
