import test from 'ava';
import { createHttpClient, HttpNetworkError } from '../connectors/http/index.ts';
import { deadlineOnArrival, recordingSleep, startHttpServer } from './helpers/http-server.ts';

const created = { status: 201, json: { resourceType: 'Patient', id: 'p1' } };

test('a POST whose connection drops after the server received it is not sent again', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('POST', '/Patient', { reset: true }, created);
  const { waits, sleep } = recordingSleep();

  const error = await t.throwsAsync(
    createHttpClient({ sleep }).request(server.url('/Patient'), { method: 'POST', body: '{}' }),
    { instanceOf: HttpNetworkError },
  );

  t.is(server.requestsTo('/Patient').length, 1);
  t.deepEqual(waits, []);
  t.is(error?.code, 'HTTP_NETWORK_ERROR');
  t.true(error?.message.startsWith(`POST ${server.url('/Patient')} failed`));
  t.regex(error?.message ?? '', /not retried: the server may have received it/);
});

test('a POST whose response headers never come is not sent again', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('POST', '/Group/g1/$export', { hang: true }, { status: 202 });
  const { sleep } = recordingSleep();

  await t.throwsAsync(
    createHttpClient({ sleep, headersDeadline: deadlineOnArrival(server) }).request(
      server.url('/Group/g1/$export'),
      {
        method: 'POST',
        body: '{}',
      },
    ),
    { instanceOf: HttpNetworkError, message: /headers timeout.*not retried/ },
  );

  t.is(server.requestsTo('/Group/g1/$export').length, 1);
});

test('a POST marked idempotent is sent again after its connection drops', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('POST', '/Patient', { reset: true }, created);
  const { waits, sleep } = recordingSleep();

  const response = await createHttpClient({ sleep }).request(server.url('/Patient'), {
    method: 'POST',
    headers: { 'if-none-exist': 'identifier=urn:x|1' },
    body: '{}',
    idempotent: true,
  });

  t.is(response.status, 201);
  t.is(server.requestsTo('/Patient').length, 2);
  t.is(waits.length, 1);
});

test('a PUT is idempotent by its method: a dropped connection is retried', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('PUT', '/Patient/p1', { reset: true }, { status: 200 });
  const { sleep } = recordingSleep();

  const response = await createHttpClient({ sleep }).request(server.url('/Patient/p1'), {
    method: 'PUT',
    body: '{}',
  });

  t.is(response.status, 200);
  t.is(server.requestsTo('/Patient/p1').length, 2);
});

test('a GET marked idempotent: false is not sent again after its connection drops', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/Patient', { reset: true }, { status: 200 });
  const { sleep } = recordingSleep();

  await t.throwsAsync(createHttpClient({ sleep }).request(server.url('/Patient'), { idempotent: false }), {
    instanceOf: HttpNetworkError,
  });

  t.is(server.requestsTo('/Patient').length, 1);
});

test('a POST to a refused connection is retried: it never reached the server', async (t) => {
  const server = await startHttpServer();
  const url = server.url('/Patient');
  await server.close();
  const { waits, sleep } = recordingSleep();

  const error = await t.throwsAsync(
    createHttpClient({ sleep, retry: { maxAttempts: 3 } }).request(url, { method: 'POST', body: '{}' }),
    { instanceOf: HttpNetworkError },
  );

  t.is(waits.length, 2);
  t.regex(error?.message ?? '', /ECONNREFUSED\) after 3 attempt/);
  t.notRegex(error?.message ?? '', /not retried/);
});
