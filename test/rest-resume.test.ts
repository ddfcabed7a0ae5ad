import { createServer, type Server } from 'node:http';
import { sql } from '@databases/pg';
import test from 'ava';
import { pino } from 'pino';
import { runSources } from '../pipeline/run.ts';
import { createTestWarehouse, rows, type TestWarehouse } from './helpers/warehouse.ts';
import { loginAs, type PayerFixture, startPayer, listenOnLoopback } from './helpers/payer.ts';
import { asyncListener } from './helpers/async-listener.ts';

let warehouse: TestWarehouse;
let payer: PayerFixture;
let proxy: Server;
/** While set, a search page whose URL contains this answers 400 (a page failing part way). */
let failPage: string | undefined;
const logger = pino({ level: 'silent' });

/** Forwards to the sandbox; a marked page fails. Next links point at the sandbox itself, so the proxy rewrites them. */
function startProxy(target: () => string): Promise<string> {
  proxy = createServer(
    asyncListener(async (request, response) => {
      const self = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
      if (failPage && request.url?.includes(failPage)) {
        response.writeHead(400, { 'content-type': 'application/fhir+json' });
        response.end(
          JSON.stringify({
            resourceType: 'OperationOutcome',
            issue: [{ severity: 'error', code: 'processing', diagnostics: 'paging cursor lost' }],
          }),
        );
        return;
      }
      const upstream = await fetch(`${target()}${request.url}`, {
        headers: { authorization: request.headers.authorization ?? '' },
      });
      const body = await upstream.text();
      // Search pages' next links are rewritten to come back here; the SMART configuration is not.
      const text = request.url?.includes('.well-known') ? body : body.replaceAll(target(), self);
      response
        .writeHead(upstream.status, {
          'content-type': upstream.headers.get('content-type') ?? 'application/json',
        })
        .end(text);
    }),
  );
  return listenOnLoopback(proxy);
}

test.before(async () => {
  warehouse = await createTestWarehouse();
  let sandboxUrl = '';
  const proxyUrl = await startProxy(() => sandboxUrl);
  payer = await startPayer({
    baseUrl: () => `${proxyUrl}/payer/r4`,
    resources: ['Observation', 'ExplanationOfBenefit'],
    pageSize: 2,
  });
  sandboxUrl = payer.sandbox.url;
  await loginAs(warehouse.db, payer, '01-testmemid');
  await loginAs(warehouse.db, payer, '02-testmemid');
});

test.after.always(async () => {
  proxy?.close();
  await payer?.sandbox.close();
  await warehouse?.drop();
});

const observations = () =>
  rows<{ n: number }>(warehouse.db, sql`SELECT count(*)::int AS n FROM fhir_raw.observation`).then(
    (r) => r[0]!.n,
  );

test.serial(
  'a page failing part way fails the run with its URL and the server message; committed pages stay',
  async (t) => {
    failPage = '_page=4';
    const result = (await runSources(warehouse.db, payer.config, { logger }))[0]!;
    t.is(result.status, 'failed');
    t.regex(
      result.error ?? '',
      /Observation search of member .* failed at http:\/\/127\.0\.0\.1:\d+\/payer\/r4\/Observation\?.*_page=4/,
    );
    t.regex(result.error ?? '', /paging cursor lost/);
    t.is(await observations(), 2 * 2 * 2, 'two pages of two per member committed');
    const cursors = await rows(
      warehouse.db,
      sql`SELECT scope FROM fhir_etl.checkpoints WHERE scope LIKE '%:Observation'`,
    );
    t.is(cursors.length, 0, 'the cursor does not move before the search ends');
    const paging = await rows<{ value: string }>(
      warehouse.db,
      sql`SELECT value FROM fhir_etl.checkpoints WHERE scope LIKE '%:Observation:paging'`,
    );
    t.is(paging.length, 2);
    t.regex(JSON.parse(paging[0]!.value).next, /_page=4/);
  },
);

test.serial(
  'the next run continues at the failed page, not from the start, and finishes the search',
  async (t) => {
    failPage = undefined;
    const result = (await runSources(warehouse.db, payer.config, { logger }))[0]!;
    t.is(result.status, 'succeeded', result.error);
    const restarted = payer.sandbox.requests.filter(
      (r) => r.url.includes('/Observation?') && !r.url.includes('_page='),
    );
    t.is(
      restarted.length,
      2,
      'each member searched Observation from its first page once, in the first run only',
    );
    t.true((await observations()) > 8, 'the pages after the failed one were loaded too');
    const cursors = await rows(
      warehouse.db,
      sql`SELECT scope FROM fhir_etl.checkpoints WHERE scope LIKE '%:Observation'`,
    );
    t.is(cursors.length, 2);
    t.deepEqual(
      result.warnings?.filter((w) => w.startsWith('ExplanationOfBenefit')).length,
      1,
      'a refused type is reported once',
    );
    const eobSearches = payer.sandbox.requests.filter((r) => r.url.includes('/ExplanationOfBenefit?'));
    t.true(eobSearches.length <= 2, 'refused types are not asked for again and again');
  },
);
