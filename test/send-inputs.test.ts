import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import test from 'ava';
import { readSendableResources, SendInputError } from '../connectors/send/index.ts';
import { sendToMember } from '../pipeline/members/send.ts';
import { usePayer } from './helpers/payer.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

const warehouse = useTestWarehouse(test);
const payer = usePayer(test);

/** A Condition of member 01-testmemid (the first sandbox member). */
const condition = (id: string, text: string) => ({
  resourceType: 'Condition',
  id,
  code: { text },
  subject: { reference: `Patient/${payer.sandbox.members[0]!.patientId}` },
});
const ndjson = (...resources: unknown[]) => resources.map((r) => JSON.stringify(r)).join('\n') + '\n';

async function folder(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'fhir-etl-send-inputs-'));
}

const onServer = (text: string) =>
  payer.sandbox.posted.filter((p) => (p.resource as { code?: { text?: string } }).code?.text === text).length;

test.serial('a missing second file fails the send before anything is POSTed, naming the file', async (t) => {
  const dir = await folder();
  const first = join(dir, 'first.ndjson');
  const missing = join(dir, 'no-such-file.ndjson');
  await writeFile(first, ndjson(condition('missing-0', 'sent before the missing file')));
  const from = payer.sandbox.requests.length;
  const error = await t.throwsAsync(
    sendToMember(warehouse.db, payer.source, { member: '01-testmemid', paths: [first, missing] }),
    { instanceOf: SendInputError },
  );
  t.is(error?.message, `${missing}: cannot read the file: no such file`);
  t.is(error?.code, 'SEND_INPUT_INVALID');
  t.deepEqual(
    payer.sandbox.requests.slice(from).filter((r) => r.method === 'POST'),
    [],
    'no token request, no create',
  );
  t.is(onServer('sent before the missing file'), 0);
});

test.serial('a folder among the paths is refused up front too', async (t) => {
  const dir = await folder();
  const first = join(dir, 'first.ndjson');
  const sub = join(dir, 'sub');
  await mkdir(sub);
  await writeFile(first, ndjson(condition('folder-0', 'sent before the folder')));
  const from = payer.sandbox.requests.length;
  const error = await t.throwsAsync(
    sendToMember(warehouse.db, payer.source, { member: '01-testmemid', paths: [first, sub] }),
    { instanceOf: SendInputError },
  );
  t.regex(error?.message ?? '', new RegExp(`^${sub}: not a file`));
  t.is(payer.sandbox.requests.slice(from).filter((r) => r.method === 'POST').length, 0);
  t.is(onServer('sent before the folder'), 0);
});

test.serial('a .ndjson.gz file sends, line numbers and all', async (t) => {
  const dir = await folder();
  const file = join(dir, 'conditions.ndjson.gz');
  await writeFile(
    file,
    gzipSync(ndjson(condition('gz-0', 'from a gzip file 0'), condition('gz-1', 'from a gzip file 1'))),
  );
  const outcomes = await sendToMember(warehouse.db, payer.source, { member: '01-testmemid', paths: [file] });
  t.deepEqual(
    outcomes.map((o) => [o.localId, o.origin, o.status]),
    [
      ['gz-0', `${file}:1`, 'created'],
      ['gz-1', `${file}:2`, 'created'],
    ],
  );
  t.is(onServer('from a gzip file 0'), 1);
  t.is(onServer('from a gzip file 1'), 1);
});

test('an NDJSON line longer than maxLineBytes fails naming the file and line, without holding it', async (t) => {
  const dir = await folder();
  const file = join(dir, 'long.ndjson');
  const long = condition('long', 'x'.repeat(10_000));
  await writeFile(file, ndjson(condition('short', 'short'), long));
  const read: string[] = [];
  const error = await t.throwsAsync(
    (async () => {
      for await (const { origin } of readSendableResources([file], { maxLineBytes: 1024 })) read.push(origin);
    })(),
    { instanceOf: SendInputError },
  );
  t.deepEqual(read, [`${file}:1`]);
  t.regex(
    error?.message ?? '',
    new RegExp(`^${file}:2: line of \\d+ bytes is longer than the limit of 1024 bytes`),
  );
});

test('Bundles and single resources are still read, gzipped or not; corrupt gzip names the file', async (t) => {
  const dir = await folder();
  const bundle = join(dir, 'bundle.json.gz');
  const single = join(dir, 'single.json');
  const corrupt = join(dir, 'corrupt.ndjson.gz');
  await writeFile(
    bundle,
    gzipSync(
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'collection',
        entry: [{ resource: condition('b', 'b') }],
      }),
    ),
  );
  await writeFile(single, JSON.stringify(condition('s', 's')));
  await writeFile(corrupt, gzipSync(ndjson(condition('c', 'c'))).subarray(0, 20));
  const origins: string[] = [];
  for await (const { origin } of readSendableResources([bundle, single])) origins.push(origin);
  t.deepEqual(origins, [`${bundle} entry 0`, single]);
  const error = await t.throwsAsync(
    (async () => {
      for await (const _ of readSendableResources([corrupt]));
    })(),
    { instanceOf: SendInputError },
  );
  t.regex(error?.message ?? '', new RegExp(`^${corrupt}: cannot read the file: .*gzip`));
});
