import test from 'ava';
import { createHttpClient, sleep } from '../connectors/http/index.ts';
import { startHttpServer } from './helpers/http-server.ts';

test('aborting during a Retry-After wait stops at once with an AbortError', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/status/1', { status: 429, headers: { 'retry-after': '3600' } });
  const controller = new AbortController();
  let waiting!: () => void;
  const inWait = new Promise<void>((resolve) => (waiting = resolve));
  // The real sleep, so the test proves the client hands its signal to the wait.
  const client = createHttpClient({
    sleep: (ms, signal) => {
      waiting();
      return sleep(ms, signal);
    },
  });

  const request = client.request(server.url('/status/1'), { signal: controller.signal });
  await inWait;
  controller.abort();

  await t.throwsAsync(request, { name: 'AbortError' });
  t.is(server.requestsTo('/status/1').length, 1);
});

test('aborting while the server has not answered stops the request with an AbortError', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/Patient', { hang: true });
  const controller = new AbortController();

  const request = createHttpClient().request(server.url('/Patient'), { signal: controller.signal });
  await server.nextRequest();
  controller.abort();

  await t.throwsAsync(request, { name: 'AbortError' });
  t.is(server.requestsTo('/Patient').length, 1);
});

test('an already aborted signal sends nothing', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);

  await t.throwsAsync(createHttpClient().request(server.url('/Patient'), { signal: AbortSignal.abort() }), {
    name: 'AbortError',
  });
  t.is(server.requests.length, 0);
});
