import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { createHttpClient } from '../connectors/http/index.ts';
import { sendToMember } from '../pipeline/members/send.ts';
import { createTestWarehouse, type TestWarehouse } from './helpers/warehouse.ts';
import { type PayerFixture, startPayer } from './helpers/payer.ts';

let warehouse: TestWarehouse;
let payer: PayerFixture;
let proxy: Server;
let files: { ndjson: string; bundle: string };
/** While set, a POST carrying this text reaches the sandbox (and is created) but its answer is lost: a 500. */
let loseAnswerFor: string | undefined;

/**
 * A proxy in front of the sandbox that forwards everything; for the marked resource it lets the
 * create happen and then answers 500, the worst case for a retry (did it go through or not?).
 */
function startProxy(target: () => string): Promise<string> {
  proxy = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const headers = Object.fromEntries(
      Object.entries(request.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k)),
    ) as Record<string, string>;
    const upstream = await fetch(`${target()}${request.url}`, {
      method: request.method,
      headers,
      ...(body.length > 0 ? { body } : {}),
    });
    const text = await upstream.text();
    if (request.method === 'POST' && loseAnswerFor !== undefined && body.toString().includes(loseAnswerFor)) {
      response.writeHead(500, { 'content-type': 'application/fhir+json' });
      response.end(
        JSON.stringify({
          resourceType: 'OperationOutcome',
          issue: [{ severity: 'error', code: 'exception', diagnostics: 'database connection lost' }],
        }),
      );
      return;
    }
    const passOn: Record<string, string> = {
      'content-type': upstream.headers.get('content-type') ?? 'application/json',
    };
    const location = upstream.headers.get('location');
    if (location) passOn.location = location;
    response.writeHead(upstream.status, passOn).end(text);
  });
  return new Promise((resolve) =>
    proxy.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(proxy.address() as { port: number }).port}`),
    ),
  );
}

test.before(async () => {
  warehouse = await createTestWarehouse();
  let sandboxUrl = '';
  const proxyUrl = await startProxy(() => sandboxUrl);
  payer = await startPayer({ baseUrl: () => `${proxyUrl}/payer/r4` });
  sandboxUrl = payer.sandbox.url;
  const dir = await mkdtemp(join(tmpdir(), 'fhir-etl-send-'));
  const observation = (n: number) => ({
    resourceType: 'Observation',
    id: `obs-${n}`,
    identifier: [{ system: 'urn:example:old-payer', value: `obs-${n}` }],
    status: 'final',
    code: { text: `reading ${n}` },
  });
  files = { ndjson: join(dir, 'observations.ndjson'), bundle: join(dir, 'bundle.json') };
  await writeFile(files.ndjson, [1, 2, 3].map((n) => JSON.stringify(observation(n))).join('\n') + '\n');
  await writeFile(
    files.bundle,
    JSON.stringify({
      resourceType: 'Bundle',
      type: 'collection',
      // No identifier: not conditional, so only the ledger keeps it from being sent twice.
      entry: [{ resource: { resourceType: 'Condition', id: 'cond-1', code: { text: 'asthma' } } }],
    }),
  );
});

test.after.always(async () => {
  proxy?.close();
  await payer?.sandbox.close();
  await warehouse?.drop();
});

const http = createHttpClient({ retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 } });
const send = () =>
  sendToMember(warehouse.db, payer.source, {
    member: '01-testmemid',
    paths: [files.ndjson, files.bundle],
    http,
  });

test.serial(
  'a send reports each resource; a lost answer fails that one with the server message',
  async (t) => {
    loseAnswerFor = 'obs-2';
    const outcomes = await send();
    t.deepEqual(
      outcomes.map((o) => [o.localId, o.status]),
      [
        ['obs-1', 'created'],
        ['obs-2', 'failed'],
        ['obs-3', 'created'],
        ['cond-1', 'created'],
      ],
    );
    const failed = outcomes[1]!;
    t.regex(failed.status === 'failed' ? failed.error : '', /database connection lost/);
    t.regex(failed.status === 'failed' ? failed.error : '', /\/payer\/r4\/Observation/);
  },
);

test.serial(
  'sending again creates nothing twice: the ledger skips, the conditional create finds obs-2',
  async (t) => {
    loseAnswerFor = undefined;
    const outcomes = await send();
    t.deepEqual(
      outcomes.map((o) => [o.localId, o.status]),
      [
        ['obs-1', 'skipped'],
        ['obs-2', 'existed'],
        ['obs-3', 'skipped'],
        ['cond-1', 'skipped'],
      ],
    );
    const posted = payer.sandbox.posted
      .map((p) => (p.resource as { code: { text: string } }).code.text)
      .sort();
    t.deepEqual(
      posted,
      ['asthma', 'reading 1', 'reading 2', 'reading 3'],
      'each resource exists once on the server',
    );
    t.true(payer.sandbox.posted.every((p) => p.memberId === '01-testmemid'));
  },
);
