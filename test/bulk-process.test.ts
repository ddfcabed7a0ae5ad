import test from 'ava';
import {
  BulkExportFailedError,
  BulkExportNotFoundError,
  BulkKickOffError,
  BulkManifestError,
  deletedReferences,
  kickOffRequest,
  nextPollDelay,
  processKickOffResponse,
  processManifest,
  processStatusResponse,
} from '../connectors/bulk/index.ts';

/** The pure halves of each protocol step, with plain Response objects. */

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

test('a 202 kick-off yields the Content-Location status URL, made absolute', async (t) => {
  const response = new Response(null, { status: 202, headers: { 'content-location': '/status/9' } });
  t.is(
    await processKickOffResponse(response, 'https://fhir.example.org/r4/$export'),
    'https://fhir.example.org/status/9',
  );
});

test('a 202 kick-off without Content-Location is refused', async (t) => {
  await t.throwsAsync(processKickOffResponse(new Response(null, { status: 202 }), 'https://x.org/$export'), {
    instanceOf: BulkKickOffError,
    message: /Content-Location/,
  });
});

test('a GET kick-off carries the parameters in the query, repeated _typeFilter kept apart', (t) => {
  const request = kickOffRequest(
    'https://x.org/r4/',
    {
      level: 'patient',
      operation: 'export',
      types: ['Patient', 'Coverage'],
      typeFilters: ['Coverage?a=1,2', 'Coverage?b=3'],
      since: '2026-01-01T00:00:00+01:00',
    },
    'GET',
  );
  const url = new URL(request.url);
  t.is(url.pathname, '/r4/Patient/$export');
  t.deepEqual(url.searchParams.getAll('_typeFilter'), ['Coverage?a=1,2', 'Coverage?b=3']);
  t.is(url.searchParams.get('_since'), '2026-01-01T00:00:00+01:00');
  t.like(request.headers, { accept: 'application/fhir+json', prefer: 'respond-async' });
});

test('a 202 status reads X-Progress and Retry-After in seconds or as an HTTP-date', async (t) => {
  const now = Date.parse('2026-03-01T00:00:00Z');
  t.deepEqual(
    await processStatusResponse(
      new Response(null, { status: 202, headers: { 'x-progress': '40%', 'retry-after': '3' } }),
      'https://x.org/s',
      now,
    ),
    { state: 'in-progress', progress: '40%', retryAfterMs: 3000 },
  );
  const date = new Date(now + 7000).toUTCString();
  t.deepEqual(
    await processStatusResponse(
      new Response(null, { status: 202, headers: { 'retry-after': date } }),
      'https://x.org/s',
      now,
    ),
    {
      state: 'in-progress',
      retryAfterMs: 7000,
    },
  );
});

test('a status error is transient only when the OperationOutcome says so, or a gateway answers without one', async (t) => {
  const transient = await processStatusResponse(
    json(500, { resourceType: 'OperationOutcome', issue: [{ code: 'transient', diagnostics: 'busy' }] }),
    'https://x.org/s',
  );
  t.like(transient, { state: 'transient', status: 500, detail: 'busy' });
  t.like(
    await processStatusResponse(new Response('<html>bad gateway</html>', { status: 502 }), 'https://x.org/s'),
    { state: 'transient' },
  );
  t.like(
    await processStatusResponse(
      new Response(null, { status: 429, headers: { 'retry-after': '5' } }),
      'https://x.org/s',
    ),
    {
      state: 'throttled',
      retryAfterMs: 5000,
    },
  );
  await t.throwsAsync(
    processStatusResponse(
      json(500, {
        resourceType: 'OperationOutcome',
        issue: [{ code: 'exception', diagnostics: 'job died' }],
      }),
      'https://x.org/s',
    ),
    { instanceOf: BulkExportFailedError, message: /job died/ },
  );
  await t.throwsAsync(processStatusResponse(json(404, {}), 'https://x.org/s'), {
    instanceOf: BulkExportNotFoundError,
  });
});

test('a manifest is read tolerantly: outcome for error, array extension, no request, relative URLs', (t) => {
  const manifest = processManifest(
    {
      transactionTime: '2026-01-01T00:00:00Z',
      requiresAccessToken: true,
      output: [{ type: 'Patient', url: 'files/1.ndjson', count: 2 }],
      outcome: [{ type: 'OperationOutcome', url: 'https://x.org/o.ndjson' }],
      extension: [{ url: 'x' }],
      link: [{ relation: 'next', url: '?page=2' }],
    },
    'https://x.org/status/1',
  );
  t.deepEqual(manifest, {
    transactionTime: '2026-01-01T00:00:00Z',
    requiresAccessToken: true,
    output: [{ type: 'Patient', url: 'https://x.org/status/files/1.ndjson', count: 2 }],
    deleted: [],
    error: [{ type: 'OperationOutcome', url: 'https://x.org/o.ndjson' }],
    extension: [{ url: 'x' }],
    next: 'https://x.org/status/1?page=2',
  });
});

test('a manifest without transactionTime or with a file without url is refused', (t) => {
  t.throws(() => processManifest({ output: [] }, 'https://x.org/s'), {
    instanceOf: BulkManifestError,
    message: /transactionTime/,
  });
  t.throws(
    () =>
      processManifest(
        { transactionTime: '2026-01-01T00:00:00Z', output: [{ type: 'Patient' }] },
        'https://x.org/s',
      ),
    {
      instanceOf: BulkManifestError,
      message: /output\[0\]\.url/,
    },
  );
});

test('polls back off exponentially up to the cap; Retry-After wins, clamped to the cap', (t) => {
  t.deepEqual(
    [1, 2, 3, 4, 9].map((poll) => nextPollDelay(poll, undefined, 10_000).ms),
    [1000, 2000, 4000, 8000, 10_000],
  );
  t.deepEqual(nextPollDelay(1, 2500, 10_000), { ms: 2500, clamped: false });
  t.deepEqual(nextPollDelay(1, 1_767_225_600_000, 10_000), { ms: 10_000, clamped: true });
});

test('deleted Bundles name Type/id in relative, absolute and versioned forms', (t) => {
  const bundle = {
    resourceType: 'Bundle',
    entry: [
      { request: { method: 'DELETE', url: 'Patient/1' } },
      { request: { method: 'DELETE', url: 'https://x.org/r4/Encounter/e-2/_history/4' } },
      { request: { method: 'PUT', url: 'Patient/3' } },
    ],
  };
  t.deepEqual(deletedReferences(bundle), [
    { resourceType: 'Patient', id: '1' },
    { resourceType: 'Encounter', id: 'e-2' },
  ]);
});
