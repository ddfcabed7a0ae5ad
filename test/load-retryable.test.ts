import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { sql } from '@databases/pg';
import type { SqlQueryable } from '../loaders/index.ts';
import test from 'ava';
import { type FileLoadResult, isRetryableLoad, LoadError } from '../loaders/index.ts';
import { ingestNdjson, type LoadContext, prepareLoad } from '../pipeline/ingest.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

// isRetryableLoad (loaders/errors.ts) over the errors real loads end with: whether loading the
// file again may succeed (its input broke off, it lost a deadlock) or would fail the same way.
// Serial: the constraint test's ALTER TABLE would queue behind the deadlock test's open files.

const warehouse = useTestWarehouse(test);
let fileNumber = 0;

async function context(): Promise<{ ctx: LoadContext; runId: number }> {
  const ctx = await prepareLoad(warehouse.db, { views: [] });
  const [row] = await warehouse.db.query(
    sql`INSERT INTO fhir_etl.runs (command, source, status) VALUES ('load', 'r', 'running') RETURNING id`,
  );
  return { ctx, runId: row.id };
}

function patients(count: number, prefix: string): Buffer {
  let text = '';
  for (let i = 1; i <= count; i++) {
    text += `${JSON.stringify({ resourceType: 'Patient', id: `${prefix}${i}`, name: [{ family: `F${i * 31}` }] })}\n`;
  }
  return Buffer.from(text);
}

/** Loads `bytes` as one file of source `r`; the error it failed with. */
async function failure(
  bytes: Buffer,
  beforeCommit?: (tx: SqlQueryable, result: FileLoadResult) => Promise<void>,
  source = 'r',
): Promise<unknown> {
  const { ctx, runId } = await context();
  const name = `f${++fileNumber}`;
  try {
    await ingestNdjson(ctx, { source, fileKey: name, path: name, runId }, Readable.from([bytes]), {
      beforeCommit,
    });
  } catch (error) {
    return error;
  }
  throw new Error('the load did not fail');
}

test('a gzip download that ends early is worth loading again (a local file is not: its bytes stay the same); a corrupt one is not', async (t) => {
  const whole = gzipSync(patients(500, 'g'));
  const cut = await failure(whole.subarray(0, Math.floor(whole.length / 2)));
  t.true(cut instanceof LoadError);
  t.regex((cut as Error).message, /truncated gzip/);
  t.true(isRetryableLoad(cut));
  t.false(isRetryableLoad(cut, 'local file'));

  const corrupt = Buffer.from(whole);
  corrupt.fill(0xff, 20, 60);
  const bad = await failure(corrupt);
  t.true(bad instanceof LoadError);
  t.false(isRetryableLoad(bad));
});

test.serial('a file refused by a constraint fails the same way again: not retryable', async (t) => {
  await warehouse.db.query(
    sql`ALTER TABLE fhir_etl.files ADD CONSTRAINT test_refused CHECK (source <> 'refused')`,
  );
  t.teardown(() => warehouse.db.query(sql`ALTER TABLE fhir_etl.files DROP CONSTRAINT test_refused`));
  const error = await failure(patients(3, 'c'), undefined, 'refused');
  t.true(error instanceof LoadError);
  t.is(((error as LoadError).cause as { code?: string }).code, '23514');
  t.false(isRetryableLoad(error));
});

test.serial('a file chosen as a deadlock’s victim is retryable', async (t) => {
  // Two files (of two sources: they share no lock of the loader's), each holding one lock and
  // then waiting for the other's: PostgreSQL aborts one.
  let arrived = 0;
  let release: () => void = () => undefined;
  const bothLocked = new Promise<void>((resolve) => {
    release = resolve;
  });
  const crossing = (first: string, second: string) => async (tx: SqlQueryable) => {
    await tx.query(sql`SET LOCAL deadlock_timeout = '100ms'`);
    await tx.query(sql`SELECT pg_advisory_xact_lock(hashtextextended(${first}, 0))`);
    if (++arrived === 2) release();
    await bothLocked;
    await tx.query(sql`SELECT pg_advisory_xact_lock(hashtextextended(${second}, 0))`);
  };
  const { ctx, runId } = await context();
  const loads = [
    ingestNdjson(ctx, { source: 'd1', fileKey: 'd1', path: 'd1', runId }, Readable.from([patients(2, 'a')]), {
      beforeCommit: crossing('test|a', 'test|b'),
    }),
    ingestNdjson(ctx, { source: 'd2', fileKey: 'd2', path: 'd2', runId }, Readable.from([patients(2, 'b')]), {
      beforeCommit: crossing('test|b', 'test|a'),
    }),
  ];
  const settled = await Promise.allSettled(loads);
  const failed = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
  t.is(failed.length, 1, 'one file lost, the other committed');
  const error = failed[0]?.reason;
  t.true(error instanceof LoadError);
  t.is(((error as LoadError).cause as { code?: string }).code, '40P01');
  t.true(isRetryableLoad(error));
  t.true(isRetryableLoad(error, 'local file'));
});

test('only a LoadError is judged', (t) => {
  const deadlock = Object.assign(new Error('deadlock detected'), { code: '40P01' });
  t.false(isRetryableLoad(deadlock));
  t.true(isRetryableLoad(new LoadError('could not load f', { file: 'f' }, deadlock)));
  t.false(isRetryableLoad(undefined));
});
