import test from 'ava';
import { parseConfigText } from '../config/index.ts';
import { poolSizeForLoad, poolSizeForRun, poolSizeForSchedule } from '../pipeline/connections.ts';
import { FILES_SOURCE_CONCURRENCY } from '../pipeline/sources/files.ts';

const config = parseConfigText(
  `
sources:
  - { name: bulk, kind: bulk, baseUrl: "https://x/r4", export: { concurrency: 12 } }
  - { name: landing, kind: files, path: /data }
  - name: payer
    kind: fhir-rest
    baseUrl: https://y/r4
    resources: [Patient]
    concurrency: 8
    auth: { type: authorization_code, clientId: c, redirectUri: "http://localhost:1/cb" }
`,
  'x.yaml',
  {},
);

test('a run gets a connection per file in flight, plus DDL, run records and its lock, for its largest source', (t) => {
  t.is(poolSizeForRun(config.sources), 15);
  t.is(poolSizeForRun([]), 6);
});

test('the scheduler adds up every source that may run at once, each with its lock connection', (t) => {
  t.is(poolSizeForSchedule(config.sources), 1 + (12 + 3) + (FILES_SOURCE_CONCURRENCY + 3) + (8 + 3));
});

test('a load with --concurrency N never has a file wait for a connection', (t) => {
  t.is(poolSizeForLoad(2), 6);
  t.is(poolSizeForLoad(10), 12);
});

test('a payer exchange gets a connection per pull file in flight, like a bulk source', (t) => {
  const exchange = parseConfigText(
    `
sources:
  - name: acme
    kind: payer-exchange
    baseUrl: https://p2p.acme.example.com/r4
    auth: { type: none }
    requestingPayer: { value: '1234567893', name: Riverside }
    members: { query: SELECT 1 }
    consentDocument: https://riverside.example.org/consents/{member}
    export: { concurrency: 10 }
`,
    'x.yaml',
    {},
  );
  t.is(poolSizeForRun(exchange.sources), 13);
});
