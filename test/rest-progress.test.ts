import test from 'ava';
import type { FileLoadResult } from '../loaders/index.ts';
import { logProgress, type ProgressReporter } from '../pipeline/progress.ts';
import { runSources } from '../pipeline/run.ts';
import { captureLogger } from './helpers/bulk-server.ts';
import { loginAs, type PayerFixture, startPayer } from './helpers/payer.ts';
import { createTestWarehouse, type TestWarehouse } from './helpers/warehouse.ts';

/** A payer (fhir-rest) run tells the progress reporter of each page as it commits, as bulk and files runs do. */

let warehouse: TestWarehouse;
let payer: PayerFixture;

test.before(async () => {
  warehouse = await createTestWarehouse();
  payer = await startPayer({ pageSize: 3 });
  for (const member of payer.sandbox.members) await loginAs(warehouse.db, payer, member.memberId);
});
test.after.always(async () => {
  await payer?.sandbox.close();
  await warehouse?.drop();
});

/** The reporter `fhir-etl --json run` uses, plus a tally of what reached the terminal bar. */
function watchedProgress(): {
  progress: ProgressReporter;
  lines: Array<Record<string, unknown>>;
  tally: { started: string[]; bytes: number; done: Array<[string, FileLoadResult]>; stops: number };
} {
  const { logger, lines } = captureLogger();
  const json = logProgress(logger);
  const tally = { started: [] as string[], bytes: 0, done: [] as Array<[string, FileLoadResult]>, stops: 0 };
  return {
    lines,
    tally,
    progress: {
      start: json.start,
      phase: json.phase,
      fileStarted: (path) => {
        tally.started.push(path);
        json.fileStarted(path);
      },
      bytes: (n) => {
        tally.bytes += n;
      },
      fileDone: (path, result) => {
        tally.done.push([path, result]);
        json.fileDone(path, result);
      },
      stop: () => {
        tally.stops++;
      },
    },
  };
}

test('each committed search page is reported as a file with its resources and bytes', async (t) => {
  const { progress, lines, tally } = watchedProgress();

  const results = await runSources(warehouse.db, payer.config, { logger: captureLogger().logger, progress });
  const result = results[0]!;

  t.is(result.status, 'succeeded', result.error);
  t.is(lines.filter((l) => l.event === 'load.start').length, 1);
  const pages = lines.filter((l) => l.event === 'file.done');
  t.is(pages.length, result.files, 'one file.done line per committed page');
  t.is(
    pages.reduce((sum, l) => sum + Number(l.resources), 0),
    result.resources,
  );
  t.true(pages.every((l) => String(l.file).startsWith(payer.sandbox.payerBaseUrl)));
  t.deepEqual(
    [...tally.started].sort(),
    tally.done.map(([path]) => path).sort(),
    'every page started is done (members are read concurrently, so in any order)',
  );
  t.true(tally.bytes > 0);
  t.is(tally.stops, 1);
});
