import test from 'ava';
import { createHttpClient, HttpError } from '../connectors/http/index.ts';
import { operationOutcome, startHttpServer } from './helpers/http-server.ts';

test('a 404 listed in accept is returned to the caller', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);

  const response = await createHttpClient().request(server.url('/status/gone'), { accept: [404] });

  t.is(response.status, 404);
});

test('a 404 not listed in accept throws HttpError with the OperationOutcome diagnostics', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/Patient/x', {
    status: 404,
    json: operationOutcome('not-found', 'Patient/x is not known'),
  });

  const error = await t.throwsAsync(createHttpClient().request(server.url('/Patient/x')), {
    instanceOf: HttpError,
  });

  t.is(error?.status, 404);
  t.regex(
    error?.message ?? '',
    /GET http:\/\/127\.0\.0\.1:\d+\/Patient\/x answered 404 Not Found: Patient\/x is not known/,
  );
  t.is(server.requests.length, 1);
});

test('a non-FHIR error body is quoted up to 500 characters', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/Patient', { status: 403, body: `forbidden ${'x'.repeat(2000)}` });

  const error = await t.throwsAsync(createHttpClient().request(server.url('/Patient')), {
    instanceOf: HttpError,
  });

  const detail = error?.context.detail as string;
  t.true(detail.startsWith('forbidden x'));
  t.is(detail.length, 500);
});

test('credentials in the query string never reach the error message', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/bucket/Patient.ndjson', { status: 403, body: 'expired' });

  const error = await t.throwsAsync(
    createHttpClient().request(
      server.url('/bucket/Patient.ndjson?X-Amz-Signature=s3cr3t&access_token=t0k3n&part=2'),
    ),
    { instanceOf: HttpError },
  );

  t.false(error?.message.includes('s3cr3t'));
  t.false(error?.message.includes('t0k3n'));
  t.false(JSON.stringify(error?.context).includes('s3cr3t'));
  t.regex(error?.message ?? '', /part=2/);
});
