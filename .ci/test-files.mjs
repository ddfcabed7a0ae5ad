// Lists the test files of one kind, for .ci/run: `database` (those that reach PostgreSQL:
// a test warehouse, the embedded server, or the command run against one) or `pure` (the
// rest). CI runs the pure ones once and the database ones on each server, in parallel.
// A file counts as a database test when it names any of the helpers or modules below.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const REACHES_POSTGRES =
  /helpers\/(warehouse|cli|main|scheduler|private-postgres|bulk-run|exchange|payer)\.ts|DATABASE_URL|acquireEmbedded|openWarehouse|@databases\/pg|loaders\/index\.ts/;

const kind = process.argv[2];
if (kind !== 'pure' && kind !== 'database') {
  process.stderr.write('usage: node .ci/test-files.mjs pure|database\n');
  process.exit(2);
}
const files = readdirSync('test')
  .filter((name) => name.endsWith('.test.ts'))
  .sort()
  .map((name) => join('test', name))
  .filter((file) => REACHES_POSTGRES.test(readFileSync(file, 'utf8')) === (kind === 'database'));
process.stdout.write(`${files.join('\n')}\n`);
