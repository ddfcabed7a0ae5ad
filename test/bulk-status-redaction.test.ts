import test from 'ava';
import { deleteExport, pollStatus, processStatusResponse } from '../connectors/bulk/index.ts';
import { createHttpClient, HttpNetworkError, InvalidJsonBodyError } from '../connectors/http/index.ts';
import { capturingLogger, recordingSleep, startHttpServer } from './helpers/http-server.ts';

/**
 * The status URL is a capability: the job id in its path is all a reader needs to fetch the
 * export. The HTTP client's own log lines and errors about status, manifest-page and DELETE
 * requests must hide it as redactStatusUrl does, not only the callers' messages.
 */

const SECRET = 'a7f3c9e1-5b2d-4e8f-9a6c-0d1e2f3a4b5c';
const STATUS_PATH = `/bulkstatus/${SECRET}`;

async function setUp() {
  const server = await startHttpServer();
  const { logger, lines } = capturingLogger();
  const { sleep } = recordingSleep();
  const client = createHttpClient({ logger, sleep, retry: { maxAttempts: 3 } });
  return { server, lines, client };
}

test('a status poll whose connection drops: neither the retry log lines nor the error show the job id', async (t) => {
  const { server, lines, client } = await setUp();
  t.teardown(server.close);
  server.route('GET', STATUS_PATH, { reset: true });

  const error = await t.throwsAsync(pollStatus(client, server.url(STATUS_PATH)), {
    instanceOf: HttpNetworkError,
  });

  t.is(server.requestsTo(STATUS_PATH).length, 3);
  const retries = lines.filter((line) => line.event === 'http.retry');
  t.is(retries.length, 2);
  t.is(retries[0]?.url, `${server.origin}/bulkstatus/a7f3…`);
  t.false(JSON.stringify(lines).includes(SECRET.slice(4)));
  t.true(error?.message.startsWith(`GET ${server.origin}/bulkstatus/a7f3… failed`), error?.message);
  t.false(error?.message.includes(SECRET.slice(4)));
  t.false(JSON.stringify(error?.context).includes(SECRET.slice(4)));
});

test('a DELETE of the export whose connection drops hides the job id too', async (t) => {
  const { server, lines, client } = await setUp();
  t.teardown(server.close);
  server.route('DELETE', STATUS_PATH, { reset: true });

  const error = await t.throwsAsync(deleteExport(client, server.url(STATUS_PATH)), {
    instanceOf: HttpNetworkError,
  });

  t.is(server.requestsTo(STATUS_PATH).length, 3);
  t.true(lines.some((line) => line.event === 'http.retry'));
  t.false(JSON.stringify(lines).includes(SECRET.slice(4)));
  t.false(error?.message.includes(SECRET.slice(4)));
});

test('a manifest that is not JSON names the status URL redacted', async (t) => {
  const { server, client } = await setUp();
  t.teardown(server.close);
  server.route('GET', STATUS_PATH, { status: 200, body: '<html>oops</html>' });
  const url = server.url(STATUS_PATH);

  const error = await t.throwsAsync(processStatusResponse(await pollStatus(client, url), url), {
    instanceOf: InvalidJsonBodyError,
  });

  t.regex(error?.message ?? '', /^GET http:\/\/127\.0\.0\.1:\d+\/bulkstatus\/a7f3… answered 200 with a body/);
  t.false(error?.message.includes(SECRET.slice(4)));
});
