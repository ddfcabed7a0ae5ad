import pgModule, { sql } from '@databases/pg';
import test from 'ava';
import { LoadError } from '../loaders/errors.ts';
import { loadTransaction } from '../loaders/postgres/load-connections.ts';
import type { LoadTransaction } from '../loaders/postgres/load-transaction.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

// The COPY seam: pg-copy-streams runs on the load transaction's own node-postgres client, so
// a file's rows and its checkpoint commit (or roll back) together, through public APIs only.
// An upgrade of pg, pg-copy-streams or @databases/pg that breaks this must fail here, not in
// a user's load.
const warehouse = useTestWarehouse(test);

test.beforeEach(async () => {
  await warehouse.db.query(sql`CREATE TABLE IF NOT EXISTS copy_seam (id text PRIMARY KEY, n int)`);
});

test.serial(
  'rows COPYed in a load transaction are seen by its next statement and commit with it',
  async (t) => {
    const seen = await loadTransaction(warehouse.db, async (tx) => {
      await tx.copyFrom('COPY copy_seam (id, n) FROM STDIN', 'a\t1\nb\t2\n');
      await tx.query(sql`INSERT INTO copy_seam VALUES ('checkpoint', 0)`);
      const [row] = await tx.query(sql`SELECT count(*)::int AS n FROM copy_seam`);
      return row.n as number;
    });
    t.is(seen, 3);
    const [row] = await warehouse.db.query(sql`SELECT count(*)::int AS n FROM copy_seam`);
    t.is(row.n, 3);
  },
);

test.serial('rows COPYed in a load transaction that fails roll back with it', async (t) => {
  await t.throwsAsync(
    loadTransaction(warehouse.db, async (tx) => {
      await tx.copyFrom('COPY copy_seam (id, n) FROM STDIN', 'c\t3\n');
      throw new Error('the checkpoint failed');
    }),
    { message: 'the checkpoint failed' },
  );
  t.deepEqual(await warehouse.db.query(sql`SELECT id FROM copy_seam WHERE id = 'c'`), []);
});

test.serial(
  'a COPY the server refuses fails its transaction with the server error and its code',
  async (t) => {
    const error = await t.throwsAsync(
      loadTransaction(warehouse.db, (tx) =>
        tx.copyFrom('COPY copy_seam (id, n) FROM STDIN', 'd\tnot-a-number\n'),
      ),
    );
    t.regex(error.message, /invalid input syntax for type integer/);
    t.is((error as Error & { code?: string }).code, '22P02');
  },
);

test.serial(
  'failed transactions give their connection back: more failures than connections, then a load',
  async (t) => {
    for (let i = 0; i < 20; i++) {
      await t.throwsAsync(
        loadTransaction(warehouse.db, (tx) => tx.query(sql`SELECT 1/0`)),
        { message: /division by zero/ },
      );
    }
    const [row] = await loadTransaction(warehouse.db, (tx) => tx.query(sql`SELECT 'still loading' AS said`));
    t.is(row.said, 'still loading');
  },
);

test.serial('a load transaction reads values as the warehouse pool does', async (t) => {
  const query = sql`
    SELECT 9007199254740991::int8 AS big, DATE '2023-12-01' AS day,
           TIMESTAMPTZ '2023-12-01T10:00:00Z' AS at, '{"a": 1}'::jsonb AS doc, 2.5::numeric AS amount`;
  const [fromLoad] = await loadTransaction(warehouse.db, (tx) => tx.query(query));
  const [fromPool] = await warehouse.db.query(query);
  t.deepEqual(fromLoad, fromPool);
  t.is(fromLoad.big, 9007199254740991);
  t.is(fromLoad.day, '2023-12-01');
});

test.serial('several queries at once answer each with its rows, as @databases/pg does', async (t) => {
  const answers = await loadTransaction(warehouse.db, (tx) =>
    tx.query([sql`SELECT 1 AS n`, sql`SELECT 2 AS n UNION ALL SELECT 3`]),
  );
  t.deepEqual(answers, [[{ n: 1 }], [{ n: 2 }, { n: 3 }]]);
});

test.serial('a statement sent after the load transaction ended is refused, not run outside it', async (t) => {
  let kept: LoadTransaction | undefined;
  await loadTransaction(warehouse.db, async (tx) => {
    kept = tx;
  });
  const error = await t.throwsAsync(
    (kept as LoadTransaction).query(sql`INSERT INTO copy_seam VALUES ('stray', 0)`),
  );
  t.true(error instanceof LoadError);
  t.deepEqual(await warehouse.db.query(sql`SELECT id FROM copy_seam WHERE id = 'stray'`), []);
});

test.serial('a pool not opened by openWarehouse has no load connections, and says so', async (t) => {
  const bare = pgModule.default({
    connectionString: warehouse.url,
    bigIntMode: 'number',
    onError: () => undefined,
  });
  try {
    const error = await t.throwsAsync(loadTransaction(bare, async () => undefined));
    t.true(error instanceof LoadError);
    t.regex(error.message, /openWarehouse/);
  } finally {
    await bare.dispose();
  }
});
