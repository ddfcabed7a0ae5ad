import test from 'ava';
import { createHttpClient, HttpNetworkError } from '../connectors/http/index.ts';
import { recordingSleep } from './helpers/http-server.ts';

test('a host name that does not resolve fails with HttpNetworkError naming the URL and the DNS code', async (t) => {
  const { waits, sleep } = recordingSleep();

  // .invalid never resolves (RFC 6761): real DNS, no network needed.
  const error = await t.throwsAsync(
    createHttpClient({ sleep, retry: { maxAttempts: 2 } }).request(
      'http://no-such-host.invalid/fhir/metadata',
    ),
    { instanceOf: HttpNetworkError },
  );

  t.is(error?.code, 'HTTP_NETWORK_ERROR');
  t.regex(
    error?.message ?? '',
    /^GET http:\/\/no-such-host\.invalid\/fhir\/metadata failed \((ENOTFOUND|EAI_AGAIN)\)/,
  );
  t.regex(String(error?.context.reason), /^(ENOTFOUND|EAI_AGAIN)$/);
  t.true(error?.cause instanceof TypeError);
  // ENOTFOUND is final, as before; EAI_AGAIN (a resolver hiccup) is retried.
  if (error?.context.reason === 'ENOTFOUND') t.deepEqual(waits, []);
});

test('a fetch failure with a signed URL shows the signature redacted', async (t) => {
  const { sleep } = recordingSleep();

  const error = await t.throwsAsync(
    createHttpClient({ sleep, retry: { maxAttempts: 1 } }).request(
      'http://no-such-host.invalid/files/p1.ndjson?X-Amz-Signature=s3cr3t',
    ),
    { instanceOf: HttpNetworkError },
  );

  t.false(error?.message.includes('s3cr3t'));
  t.regex(error?.message ?? '', /no-such-host\.invalid\/files\/p1\.ndjson\?X-Amz-Signature=redacted/);
});
