import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { sql } from '@databases/pg';
import test from 'ava';
import { loadPaths } from '../pipeline/load.ts';
import { parseResourceLine, readLines } from '../transforms/index.ts';
import { firstInvalidUtf8 } from '../transforms/ndjson/utf8.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

// Issue 11: `M\xfcller` (Latin-1, not UTF-8) landed as `M\ufffdller`, with no reject and no
// warning. A line that is not valid UTF-8 is now a reject naming the byte.

const warehouse = useTestWarehouse(test);
const dir = mkdtempSync(join(tmpdir(), 'fhir-etl-utf8-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const good = (id: string) => Buffer.from(`${JSON.stringify({ resourceType: 'Patient', id })}\n`);
const latin1Line = Buffer.concat([
  Buffer.from('{"resourceType":"Patient","id":"m","name":[{"family":"M'),
  Buffer.from([0xfc]),
  Buffer.from('ller"}]}\n'),
]);
const badByteInLine = latin1Line.indexOf(0xfc);

async function parsed(bytes: Buffer) {
  const out = [];
  let line = 0;
  for await (const text of readLines(Readable.from([bytes]), { maxLineBytes: 1 << 20 })) {
    out.push(parseResourceLine(text, ++line));
  }
  return out;
}

test('a line that is not UTF-8 is rejected naming its byte, in the line and in the file', async (t) => {
  const before = good('a');
  const records = await parsed(Buffer.concat([before, latin1Line, good('b')]));
  t.deepEqual(
    records.map((r) => r?.ok),
    [true, false, true],
  );
  const reject = records[1];
  if (reject?.ok !== false) return t.fail();
  t.is(reject.line, 2);
  t.true(
    reject.reason.startsWith(
      `not valid UTF-8: byte ${badByteInLine} of the line (byte ${before.length + badByteInLine} of the file`,
    ),
    reject.reason,
  );
});

test('the same in a gzip file, and in a line longer than one read', async (t) => {
  const long = Buffer.concat([
    Buffer.from(`{"resourceType":"Patient","id":"long","text":"${'x'.repeat(300_000)}`),
    Buffer.from([0xc3, 0x28]),
    Buffer.from('"}\n'),
  ]);
  const records = await parsed(gzipSync(Buffer.concat([good('a'), long, good('b')])));
  t.deepEqual(
    records.map((r) => (r?.ok === false ? r.reason.slice(0, 40) : r?.ok)),
    [true, `not valid UTF-8: byte ${long.indexOf(0xc3)} of the line`, true],
  );
});

test('firstInvalidUtf8 finds the first bad byte of each kind of fault', (t) => {
  const at = (...bytes: number[]) => firstInvalidUtf8(Uint8Array.from(bytes));
  t.is(at(0x61, 0xc3, 0xbc), -1); // ü
  t.is(at(0xf0, 0x9f, 0x98, 0x80), -1); // 😀
  t.is(at(0x61, 0xfc, 0x6c), 1); // Latin-1 ü
  t.is(at(0x61, 0xc0, 0xaf), 1); // overlong
  t.is(at(0xed, 0xa0, 0x80), 0); // a UTF-16 surrogate
  t.is(at(0xf4, 0x90, 0x80, 0x80), 0); // past U+10FFFF
  t.is(at(0x61, 0x80), 1); // a stray continuation byte
  t.is(at(0x61, 0xe2, 0x82), 1); // cut short
});

test('a load keeps the good lines, rejects the bad one, and stores no U+FFFD', async (t) => {
  const path = join(dir, 'latin1.ndjson');
  writeFileSync(path, Buffer.concat([good('a'), latin1Line, good('b')]));
  const summary = await loadPaths(warehouse.db, {
    paths: [path],
    source: 's',
    concurrency: 1,
    maxLineBytes: 1 << 20,
  });
  t.is(summary.status, 'succeeded');
  t.is(summary.rejects, 1);
  const rows = await warehouse.db.query(sql`SELECT id FROM fhir_raw.patient ORDER BY id`);
  t.deepEqual(rows, [{ id: 'a' }, { id: 'b' }]);
  const [reject] = await warehouse.db.query(sql`SELECT line::int, reason FROM fhir_etl.rejects`);
  t.is(reject.line, 2);
  t.regex(reject.reason, new RegExp(`^not valid UTF-8: byte ${badByteInLine} of the line`));
  const [replaced] = await warehouse.db.query(
    sql`SELECT count(*)::int AS n FROM fhir_raw.patient WHERE resource::text LIKE ${'%\ufffd%'}`,
  );
  t.is(replaced.n, 0);
});
