import test from 'ava';
import { createHttpClient, InvalidJsonBodyError } from '../connectors/http/index.ts';
import { startHttpServer } from './helpers/http-server.ts';
import { projectVersion } from './helpers/project.ts';

test('a gzip Content-Encoding body is decoded', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  const ndjson = '{"resourceType":"Patient","id":"1"}\n{"resourceType":"Patient","id":"2"}\n';
  server.route('GET', '/files/Patient.ndjson', { status: 200, body: ndjson, gzip: true });

  const response = await createHttpClient().request(server.url('/files/Patient.ndjson'), {
    headers: { 'accept-encoding': 'gzip' },
  });

  t.is(response.headers.get('content-encoding'), 'gzip');
  t.is(await response.text(), ndjson);
});

test('every request carries User-Agent fhir-etl/<version>', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/metadata', { status: 200, json: {} });

  await createHttpClient().request(server.url('/metadata'));

  t.is(server.requests[0]?.headers['user-agent'], `fhir-etl/${projectVersion()}`);
});

test('json() asks for FHIR JSON and parses the body', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/metadata', { status: 200, json: { resourceType: 'CapabilityStatement' } });

  const { body } = await createHttpClient().json<{ resourceType: string }>(server.url('/metadata'));

  t.is(body.resourceType, 'CapabilityStatement');
  t.is(server.requests[0]?.headers.accept, 'application/fhir+json, application/json');
});

test('json() on a body that is not JSON throws InvalidJsonBodyError quoting its start', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/metadata', { status: 200, body: '<html>maintenance</html>' });

  const error = await t.throwsAsync(createHttpClient().json(server.url('/metadata')), {
    instanceOf: InvalidJsonBodyError,
  });

  t.is(error?.code, 'HTTP_INVALID_JSON');
  t.regex(error?.message ?? '', /<html>maintenance/);
});
