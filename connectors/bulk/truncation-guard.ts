import { Transform, type TransformCallback } from 'node:stream';
import { FhirEtlError } from '../../errors/index.ts';

/** A file body ended in the middle of a line: it was cut off in transit. */
export class TruncatedBodyError extends FhirEtlError {
  constructor(details: { url: string }) {
    super(`the body of ${details.url} ended in the middle of an NDJSON line (cut off in transit)`, {
      code: 'BULK_TRUNCATED_BODY',
      context: details,
    });
  }
}

/**
 * Fails a body that ends part way through an NDJSON line. Node's fetch decodes a gzip
 * Content-Encoding leniently (zlib Z_SYNC_FLUSH): a gzip body cut off in transit ends
 * quietly instead of failing, so without this check the file would commit half loaded.
 * A cut almost never falls on a line boundary; a last line without its newline that still
 * parses is a server that omits the final newline, and is fine.
 */
export function truncationGuard(url: string): Transform {
  let tail: Buffer[] = [];
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      const newline = chunk.lastIndexOf(10);
      if (newline === -1) tail.push(chunk);
      else tail = newline === chunk.length - 1 ? [] : [chunk.subarray(newline + 1)];
      callback(null, chunk);
    },
    flush(callback: TransformCallback) {
      const last = Buffer.concat(tail).toString('utf8').trim();
      tail = [];
      if (last === '' || parses(last)) callback();
      else callback(new TruncatedBodyError({ url }));
    },
  });
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
