import { once } from 'node:events';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import split2 from 'split2';
import { NdjsonReadError } from './errors.ts';
import { LineLengthGuard } from './line-length-guard.ts';

export interface LineReaderOptions {
  /** Lines longer than this are rejected without being held in memory. */
  maxLineBytes: number;
  /** Called with the number of input bytes (compressed, for gzip) as they are read. */
  onBytes?: (bytes: number) => void;
}

/**
 * Reads NDJSON text lines from a byte stream, gunzipping when the stream starts with the
 * gzip magic bytes (whatever the file is called), with backpressure all the way: the caller's
 * `for await` pace is the read pace. A corrupt gzip stream rejects the iteration.
 */
export async function* readLines(source: Readable, options: LineReaderOptions): AsyncGenerator<string> {
  const gzip = isGzip(await peek(source, 2));
  const counter = byteCounter(options.onBytes);
  const lines = split2('\n', { highWaterMark: 256 });
  const stages: Array<NodeJS.ReadableStream | NodeJS.ReadWriteStream> = [
    source,
    counter,
    ...(gzip ? [createGunzip()] : []),
    new LineLengthGuard(options.maxLineBytes),
    lines,
  ];
  const flowing = pipeline(stages);
  let failure: unknown;
  flowing.catch((error) => {
    failure = error;
  });
  try {
    for await (const line of lines) yield line as string;
    await flowing;
  } catch (error) {
    throw describeFailure(error, gzip);
  } finally {
    if (!lines.destroyed) lines.destroy();
  }
  if (failure) throw describeFailure(failure, gzip);
}

function describeFailure(error: unknown, gzip: boolean): unknown {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (gzip && code.startsWith('Z_')) {
    return new NdjsonReadError(`corrupt or truncated gzip data (${(error as Error).message})`, error);
  }
  return error;
}

function isGzip(head: Buffer | null): boolean {
  return head !== null && head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/** Reads up to `n` bytes from the start of a stream and puts them back. */
async function peek(stream: Readable, n: number): Promise<Buffer | null> {
  const pieces: Buffer[] = [];
  let length = 0;
  while (length < n) {
    const chunk = stream.read() as Buffer | null;
    if (chunk !== null) {
      pieces.push(chunk);
      length += chunk.length;
      continue;
    }
    if (stream.readableEnded || stream.destroyed) break;
    const readable = once(stream, 'readable').then(() => false);
    const end = once(stream, 'end').then(() => true);
    // The promise that loses the race rejects when the stream later errors (a download cut
    // off after its first bytes): that error belongs to the pipeline, not to an unhandled rejection.
    readable.catch(() => undefined);
    end.catch(() => undefined);
    const ended = await Promise.race([readable, end]);
    if (ended) break;
  }
  const head = Buffer.concat(pieces);
  if (head.length > 0) stream.unshift(head);
  return head.length > 0 ? head : null;
}

function byteCounter(onBytes: ((bytes: number) => void) | undefined): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      onBytes?.(chunk.length);
      callback(null, chunk);
    },
  });
}
