import { isUtf8 } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';
import { INVALID_UTF8_MARKER, OVERLONG_MARKER } from './parse-line.ts';
import { firstInvalidUtf8 } from './utf8.ts';

const NEWLINE = 0x0a;
/** How much of an overlong line is kept for the reject record. */
const PREFIX_BYTES = 1024;

/**
 * Bounds the memory a single line can take: passes whole lines through, holds at most
 * `maxLineBytes` of an unfinished line, and replaces a line that grows past the limit by a
 * short marker line (`\0<bytes>\0<limit>\0<prefix>`) so it is rejected with its line number
 * while the lines around it load. split2 downstream then never buffers more than the limit.
 *
 * It also keeps invalid UTF-8 from being decoded into U+FFFD silently: a line that is not
 * valid UTF-8 is replaced by a marker line (`\x01<offset in line>\x01<offset in stream>\x01<prefix>`)
 * and rejected naming the byte.
 */
export class LineLengthGuard extends Transform {
  readonly #maxLineBytes: number;
  #held: Buffer[] = [];
  #heldBytes = 0;
  #skipping = false;
  #skippedBytes = 0;
  #prefix: Buffer = Buffer.alloc(0);
  /** Bytes of the stream before the current line (decompressed, for a gzip file). */
  #lineStart = 0;

  constructor(maxLineBytes: number) {
    super();
    this.#maxLineBytes = maxLineBytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let start = 0;
    let newline = chunk.indexOf(NEWLINE, start);
    const out: Buffer[] = [];
    while (newline !== -1) {
      this.#appendPart(chunk.subarray(start, newline + 1), out, true);
      start = newline + 1;
      newline = chunk.indexOf(NEWLINE, start);
    }
    if (start < chunk.length) this.#appendPart(chunk.subarray(start), out, false);
    if (out.length > 0) this.push(out.length === 1 ? out[0] : Buffer.concat(out));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.#skipping) this.push(this.#marker());
    else if (this.#heldBytes > 0) this.push(Buffer.concat(this.#held));
    callback();
  }

  /** Adds a piece of the current line; `ends` when the piece carries the line's newline. */
  #appendPart(part: Buffer, out: Buffer[], ends: boolean): void {
    const bytes = part.length - (ends ? 1 : 0);
    if (this.#skipping) {
      this.#skippedBytes += bytes;
      if (this.#prefix.length < PREFIX_BYTES) {
        const more = part.subarray(0, Math.min(bytes, PREFIX_BYTES - this.#prefix.length));
        this.#prefix = Buffer.concat([this.#prefix, more]);
      }
    } else if (this.#heldBytes + bytes > this.#maxLineBytes) {
      this.#startSkipping(part, bytes);
    } else if (ends) {
      const line = this.#heldBytes > 0 ? Buffer.concat([...this.#held, part]) : part;
      this.#held = [];
      this.#heldBytes = 0;
      out.push(isUtf8(line) ? line : this.#invalidUtf8Marker(line));
      this.#lineStart += line.length;
      return;
    } else {
      // Copy: the chunk's memory may be reused by the source once we return.
      this.#held.push(Buffer.from(part));
      this.#heldBytes += part.length;
      return;
    }
    if (ends) {
      out.push(this.#marker());
      this.#skipping = false;
      this.#lineStart += this.#skippedBytes + 1;
    }
  }

  #invalidUtf8Marker(line: Buffer): Buffer {
    const offset = firstInvalidUtf8(line);
    const prefix = line
      .subarray(0, Math.min(PREFIX_BYTES, line.length))
      .toString('utf8')
      .replace(/[\r\n\0]/g, ' ')
      .replaceAll(INVALID_UTF8_MARKER, ' ');
    return Buffer.from(
      `${INVALID_UTF8_MARKER}${offset}${INVALID_UTF8_MARKER}${this.#lineStart + offset}${INVALID_UTF8_MARKER}${prefix}\n`,
    );
  }

  #startSkipping(part: Buffer, bytes: number): void {
    const head = Buffer.concat([...this.#held, part.subarray(0, Math.min(bytes, PREFIX_BYTES))]);
    this.#prefix = Buffer.from(head.subarray(0, PREFIX_BYTES));
    this.#skippedBytes = this.#heldBytes + bytes;
    this.#held = [];
    this.#heldBytes = 0;
    this.#skipping = true;
  }

  #marker(): Buffer {
    const prefix = this.#prefix.toString('utf8').replace(/[\r\n\0]/g, ' ');
    return Buffer.from(
      `${OVERLONG_MARKER}${this.#skippedBytes}${OVERLONG_MARKER}${this.#maxLineBytes}${OVERLONG_MARKER}${prefix}\n`,
    );
  }
}
