// Lists the test files of one kind, for .ci/run:
// - `database`: those that take the server the run is given (a test warehouse, the helpers
//   built on one, DATABASE_URL): CI runs them on the embedded server and on DATABASE_URL.
// - `own-server`: those that start a server of their own (a private PostgreSQL, the embedded
//   one whatever DATABASE_URL says): the same on either pass, so CI runs them once.
// - `pure`: the rest, run with no database to reach (a pure test that reached one fails).
// A file that fits both database kinds counts as `database`: two runs cost time, not coverage.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const TAKES_THE_SERVER =
  /useTestWarehouse|createTestWarehouse|helpers\/(warehouse|main|scheduler|bulk-run|exchange|payer)\.ts|process\.env\.DATABASE_URL/;
const STARTS_ITS_OWN =
  /helpers\/private-postgres\.ts|acquireEmbedded|delete env\.DATABASE_URL|openWarehouse|@databases\/pg/;

function kindOf(text) {
  if (TAKES_THE_SERVER.test(text)) return 'database';
  if (STARTS_ITS_OWN.test(text)) return 'own-server';
  return 'pure';
}

const kind = process.argv[2];
if (!['pure', 'database', 'own-server'].includes(kind)) {
  process.stderr.write('usage: node .ci/test-files.mjs pure|database|own-server\n');
  process.exit(2);
}
const files = readdirSync('test')
  .filter((name) => name.endsWith('.test.ts'))
  .sort()
  .map((name) => join('test', name))
  .filter((file) => kindOf(readFileSync(file, 'utf8')) === kind);
process.stdout.write(`${files.join('\n')}\n`);
