import test from 'ava';
import { BulkKickOffError, kickOff } from '../connectors/bulk/index.ts';
import { createHttpClient, HttpNetworkError } from '../connectors/http/index.ts';
import { operationOutcome, recordingSleep, startHttpServer } from './helpers/http-server.ts';

/**
 * A kick-off starts a job whatever its method: one whose answer was lost must not be sent
 * again (a GET included), or the server runs two exports. Only answers that say nothing was
 * started (429, a `transient` OperationOutcome) are waited out and retried.
 */

const accepted = (origin: string) => ({
  status: 202,
  headers: { 'content-location': `${origin}/status/job1` },
});

async function setUp() {
  const server = await startHttpServer();
  const { waits, sleep } = recordingSleep();
  return { server, waits, client: createHttpClient({ sleep }) };
}

for (const method of ['GET', 'POST'] as const) {
  test(`a ${method} kick-off whose connection drops after the server read it is sent once`, async (t) => {
    const { server, waits, client } = await setUp();
    t.teardown(server.close);
    server.route(method, '/fhir/$export', { reset: true }, accepted(server.origin));

    const error = await t.throwsAsync(
      kickOff(client, server.url('/fhir'), { level: 'system', operation: 'export' }, { method }),
      { instanceOf: HttpNetworkError },
    );

    t.is(server.requestsTo('/fhir/$export').length, 1);
    t.deepEqual(waits, []);
    t.is(error?.code, 'HTTP_NETWORK_ERROR');
    t.true(error?.message.startsWith(`${method} ${server.url('/fhir/$export')}`), error?.message);
    t.regex(error?.message ?? '', /after 1 attempt\(s\); not retried: the server may have received it/);
  });
}

test('a GET kick-off answered with a plain 500 is not sent again: the export may have started', async (t) => {
  const { server, waits, client } = await setUp();
  t.teardown(server.close);
  server.route(
    'GET',
    '/fhir/$export',
    { status: 500, json: operationOutcome('exception', 'database hiccup') },
    accepted(server.origin),
  );

  await t.throwsAsync(
    kickOff(client, server.url('/fhir'), { level: 'system', operation: 'export' }, { method: 'GET' }),
    { instanceOf: BulkKickOffError, message: /\(500\): database hiccup/ },
  );

  t.is(server.requestsTo('/fhir/$export').length, 1);
  t.deepEqual(waits, []);
});

test('a GET kick-off answered 429 or with a transient OperationOutcome is still retried', async (t) => {
  const { server, waits, client } = await setUp();
  t.teardown(server.close);
  server.route(
    'GET',
    '/fhir/$export',
    { status: 429, headers: { 'retry-after': '2' } },
    { status: 503, json: operationOutcome('transient', 'busy, nothing started') },
    accepted(server.origin),
  );

  const result = await kickOff(
    client,
    server.url('/fhir'),
    { level: 'system', operation: 'export' },
    { method: 'GET' },
  );

  t.is(result.statusUrl, server.url('/status/job1'));
  t.is(server.requestsTo('/fhir/$export').length, 3);
  t.is(waits.length, 2);
  t.is(waits[0], 2000);
});
