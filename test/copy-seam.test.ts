import { sql } from '@databases/pg';
import test from 'ava';
import { copyInto } from '../loaders/postgres/copy.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

// The COPY seam: pg-copy-streams runs on the very connection of an @databases/pg transaction,
// so a file's rows and its checkpoint commit (or roll back) together. An upgrade of either
// library that breaks this must fail here, not in a user's load.
const warehouse = useTestWarehouse(test);

test.beforeEach(async () => {
  await warehouse.db.query(sql`CREATE TABLE IF NOT EXISTS copy_seam (id text PRIMARY KEY, n int)`);
});

test.serial('rows COPYed in a transaction are seen by its next statement and commit with it', async (t) => {
  const seen = await warehouse.db.tx(async (tx) => {
    await copyInto(tx, 'COPY copy_seam (id, n) FROM STDIN', 'a\t1\nb\t2\n');
    await tx.query(sql`INSERT INTO copy_seam VALUES ('checkpoint', 0)`);
    const [row] = await tx.query(sql`SELECT count(*)::int AS n FROM copy_seam`);
    return row.n as number;
  });
  t.is(seen, 3);
  const [row] = await warehouse.db.query(sql`SELECT count(*)::int AS n FROM copy_seam`);
  t.is(row.n, 3);
});

test.serial('rows COPYed in a transaction that fails roll back with it', async (t) => {
  await t.throwsAsync(
    warehouse.db.tx(async (tx) => {
      await copyInto(tx, 'COPY copy_seam (id, n) FROM STDIN', 'c\t3\n');
      throw new Error('the checkpoint failed');
    }),
    { message: 'the checkpoint failed' },
  );
  const rows = await warehouse.db.query(sql`SELECT id FROM copy_seam WHERE id = 'c'`);
  t.deepEqual(rows, []);
});

test.serial('a COPY the server refuses fails its transaction with the server error', async (t) => {
  const error = await t.throwsAsync(
    warehouse.db.tx((tx) => copyInto(tx, 'COPY copy_seam (id, n) FROM STDIN', 'd\tnot-a-number\n')),
  );
  t.regex(error.message, /invalid input syntax for type integer/);
});
