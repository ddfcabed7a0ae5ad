import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import test from 'ava';
import { createHttpClient } from '../connectors/http/index.ts';
import { sendToMember } from '../pipeline/members/send.ts';
import { createTestWarehouse, type TestWarehouse } from './helpers/warehouse.ts';
import { type PayerFixture, startPayer, listenOnLoopback } from './helpers/payer.ts';
import { asyncListener } from './helpers/async-listener.ts';

let warehouse: TestWarehouse;
let payer: PayerFixture;
let proxy: Server;
let files: { ndjson: string; bundle: string };
/** While set, a POST carrying this text reaches the sandbox (and is created) but its answer is lost: a 500. */
let loseAnswerFor: string | undefined;
/** While set, a POST carrying this text reaches the sandbox, then the connection drops: no answer at all. */
let dropAnswerFor: string | undefined;
/** While set, a POST carrying this text reaches the sandbox and is answered 202 Accepted instead. */
let acceptFor: string | undefined;
/** Each POST waits this long before it is forwarded, so that concurrent sends overlap. */
let postDelayMs = 0;

/**
 * A proxy in front of the sandbox that forwards everything; for the marked resource it lets the
 * create happen and then answers 500, the worst case for a retry (did it go through or not?).
 */
function startProxy(target: () => string): Promise<string> {
  proxy = createServer(
    asyncListener(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      if (request.method === 'POST' && postDelayMs > 0) await new Promise((r) => setTimeout(r, postDelayMs));
      const marked = (text: string | undefined) =>
        request.method === 'POST' && text !== undefined && body.toString().includes(text);
      const headers = Object.fromEntries(
        Object.entries(request.headers).filter(
          ([k]) => !['host', 'content-length', 'connection'].includes(k),
        ),
      ) as Record<string, string>;
      const upstream = await fetch(`${target()}${request.url}`, {
        method: request.method,
        headers,
        ...(body.length > 0 ? { body } : {}),
      });
      const text = await upstream.text();
      if (marked(dropAnswerFor)) {
        request.socket.destroy();
        return;
      }
      if (marked(acceptFor)) {
        response.writeHead(202, { 'content-type': 'application/fhir+json' }).end(text);
        return;
      }
      if (marked(loseAnswerFor)) {
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
    }),
  );
  return listenOnLoopback(proxy);
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
    subject: { reference: `Patient/${payer.sandbox.members[0]!.patientId}` },
  });
  files = { ndjson: join(dir, 'observations.ndjson'), bundle: join(dir, 'bundle.json') };
  await writeFile(files.ndjson, [1, 2, 3].map((n) => JSON.stringify(observation(n))).join('\n') + '\n');
  await writeFile(
    files.bundle,
    JSON.stringify({
      resourceType: 'Bundle',
      type: 'collection',
      // No identifier: not conditional, so only the ledger keeps it from being sent twice.
      entry: [
        {
          resource: {
            resourceType: 'Condition',
            id: 'cond-1',
            code: { text: 'asthma' },
            subject: { reference: `Patient/${payer.sandbox.members[0]!.patientId}` },
          },
        },
      ],
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

/** Plain creates (no identifier): only the ledger keeps them from being created twice. */
async function plainFile(name: string, texts: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fhir-etl-send-'));
  const file = join(dir, `${name}.ndjson`);
  await writeFile(
    file,
    texts
      .map((text, n) =>
        JSON.stringify({
          resourceType: 'Condition',
          id: `${name}-${n}`,
          code: { text },
          subject: { reference: `Patient/${payer.sandbox.members[0]!.patientId}` },
        }),
      )
      .join('\n') + '\n',
  );
  return file;
}

const sendFile = (file: string, options: { resendPending?: boolean } = {}) =>
  sendToMember(warehouse.db, payer.source, { member: '01-testmemid', paths: [file], http, ...options });

/** How many times the sandbox holds a resource with this code text. */
const onServer = (text: string) =>
  payer.sandbox.posted.filter((p) => (p.resource as { code?: { text?: string } }).code?.text === text).length;

const ledgerState = async (localId: string) =>
  (
    await warehouse.db.query(
      sql`SELECT state, outcome FROM fhir_etl.sent_resources WHERE local_id = ${localId}`,
    )
  )[0] as { state: string; outcome: string | null } | undefined;

test.serial(
  'a plain create whose answer is lost is reported as maybe created, and a rerun does not duplicate it',
  async (t) => {
    const file = await plainFile('lost', ['lost answer', 'goes through']);
    dropAnswerFor = 'lost answer';
    const first = await sendFile(file);
    dropAnswerFor = undefined;
    t.deepEqual(
      first.map((o) => [o.localId, o.status]),
      [
        ['lost-0', 'failed'],
        ['lost-1', 'created'],
      ],
      'the network failure is that resource own; the next one still goes',
    );
    const lost = first[0]!;
    t.true(lost.status === 'failed' && lost.unconfirmed);
    t.regex(lost.status === 'failed' ? lost.error : '', /may have created it: check the server/);
    t.is(onServer('lost answer'), 1, 'the POST did reach the server');
    t.like(await ledgerState('lost-0'), { state: 'pending', outcome: null });

    const again = await sendFile(file);
    t.deepEqual(
      again.map((o) => [o.localId, o.status]),
      [
        ['lost-0', 'failed'],
        ['lost-1', 'skipped'],
      ],
    );
    const reported = again[0]!;
    t.true(reported.status === 'failed' && reported.unconfirmed, 'reported, so the exit code is not 0');
    t.regex(reported.status === 'failed' ? reported.error : '', /earlier send got no definite answer/);
    t.regex(reported.status === 'failed' ? reported.error : '', /--resend-pending/);
    t.is(onServer('lost answer'), 1, 'not POSTed again');

    const forced = await sendFile(file, { resendPending: true });
    t.deepEqual(
      forced.map((o) => [o.localId, o.status]),
      [
        ['lost-0', 'created'],
        ['lost-1', 'skipped'],
      ],
      '--resend-pending sends it (the operator checked the server)',
    );
    t.like(await ledgerState('lost-0'), { state: 'delivered', outcome: 'created' });
  },
);

test.serial('a 202 Accepted is not recorded as delivered, and is not sent again', async (t) => {
  const file = await plainFile('accepted', ['queued by the server']);
  acceptFor = 'queued by the server';
  const [first] = await sendFile(file);
  acceptFor = undefined;
  t.is(first?.status, 'failed');
  t.true(first?.status === 'failed' && first.unconfirmed);
  t.regex(first?.status === 'failed' ? first.error : '', /202 Accepted/);
  t.like(await ledgerState('accepted-0'), { state: 'pending', outcome: null });
  const [again] = await sendFile(file);
  t.is(again?.status, 'failed');
  t.regex(again?.status === 'failed' ? again.error : '', /202 Accepted.*check the server/);
  t.is(onServer('queued by the server'), 1);
});

test.serial('two concurrent sends of one file create each resource once', async (t) => {
  const texts = ['concurrent a', 'concurrent b', 'concurrent c', 'concurrent d'];
  const file = await plainFile('concurrent', texts);
  postDelayMs = 40;
  try {
    const [a, b] = await Promise.all([sendFile(file), sendFile(file)]);
    for (const [n] of texts.entries()) {
      const statuses = [a[n]?.status, b[n]?.status].sort();
      t.deepEqual(
        statuses,
        ['created', 'skipped'],
        `resource ${n}: one sender created it, the other skipped`,
      );
    }
  } finally {
    postDelayMs = 0;
  }
  t.deepEqual(
    texts.map(onServer),
    texts.map(() => 1),
  );
});
