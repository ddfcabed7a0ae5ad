import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import test from 'ava';
import { parseResourceLine, readLines } from '../transforms/index.ts';

async function collect(source: Readable, maxLineBytes = 1 << 20): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of readLines(source, { maxLineBytes })) lines.push(line);
  return lines;
}

/** Feeds the bytes in small pieces, so lines straddle chunk boundaries. */
function chunked(bytes: Buffer, size: number): Readable {
  const pieces: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.subarray(i, i + size));
  return Readable.from(pieces, { objectMode: false });
}

test('lines split across chunks come out whole', async (t) => {
  const text = 'alpha\nbravo charlie\n\ndelta';
  t.deepEqual(await collect(chunked(Buffer.from(text), 3)), ['alpha', 'bravo charlie', '', 'delta']);
});

test('gzip is recognised by its magic bytes, whatever the name', async (t) => {
  const bytes = gzipSync('{"a":1}\n{"b":2}\n');
  t.deepEqual(await collect(chunked(bytes, 5)), ['{"a":1}', '{"b":2}']);
});

test('an overlong line becomes one marker line, keeping line numbers and the lines around it', async (t) => {
  const text = `short\n${'y'.repeat(100)}\nafter\n${'z'.repeat(50)}`;
  const lines = await collect(chunked(Buffer.from(text), 7), 20);
  t.is(lines.length, 4);
  t.is(lines[0], 'short');
  t.is(lines[2], 'after');
  const rejected = parseResourceLine(lines[1] as string, 2);
  t.false(rejected?.ok);
  t.regex(
    rejected && !rejected.ok ? rejected.reason : '',
    /line of 100 bytes or more exceeds the limit of 20 bytes/,
  );
  t.is(rejected?.text, 'y'.repeat(100));
  const last = parseResourceLine(lines[3] as string, 4);
  t.regex(last && !last.ok ? last.reason : '', /exceeds the limit of 20 bytes/);
});

test('a valid resource line keeps its text, type, id, version and lastUpdated', (t) => {
  const text =
    '{"resourceType":"Patient","id":"p-1.a","meta":{"versionId":"3","lastUpdated":"2024-01-02T03:04:05.123+01:00"}}';
  const parsed = parseResourceLine(`${text}\r`, 7);
  t.like(parsed, {
    ok: true,
    line: 7,
    resourceType: 'Patient',
    id: 'p-1.a',
    versionId: '3',
    lastUpdated: '2024-01-02T03:04:05.123+01:00',
    text,
  });
});

test('blank lines are skipped, not rejected', (t) => {
  t.is(parseResourceLine('', 1), undefined);
  t.is(parseResourceLine('   \r', 2), undefined);
});

test('jsonb-unsafe escapes are rejected, valid surrogate pairs are not', (t) => {
  const pair = parseResourceLine('{"resourceType":"Patient","id":"a","x":"\\ud83d\\ude00"}', 1);
  t.true(pair?.ok);
  const lone = parseResourceLine('{"resourceType":"Patient","id":"a","x":"\\ud83d!"}', 1);
  t.false(lone?.ok);
});
