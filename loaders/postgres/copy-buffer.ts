/**
 * COPY text written straight into one growing byte buffer, as UTF-8. Rows are encoded once,
 * where they are added: no array of row strings to join, no second copy when the payload is
 * written to the socket (pg-copy-streams would otherwise turn the string into a Buffer), and
 * the row strings die young. The bytes live outside the V8 heap, so a batch does not count
 * against the CLI's old-space cap.
 */
export class CopyBuffer {
  #bytes: Buffer;
  #length = 0;

  constructor(initialBytes = 256 << 10) {
    this.#bytes = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.#length;
  }

  append(text: string): void {
    // A UTF-16 unit takes at most 3 UTF-8 bytes: the exact size is only counted when it may not fit.
    if (this.#length + text.length * 3 > this.#bytes.length) this.#reserve(Buffer.byteLength(text));
    this.#length += this.#bytes.write(text, this.#length);
  }

  appendBytes(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#bytes.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  /** The bytes written so far (a view, not a copy). */
  contents(): Buffer {
    return this.#bytes.subarray(0, this.#length);
  }

  #reserve(bytes: number): void {
    const needed = this.#length + bytes;
    if (needed <= this.#bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, this.#bytes.length * 2));
    this.#bytes.copy(grown, 0, 0, this.#length);
    this.#bytes = grown;
  }
}
