import test from 'ava';
import type { ProgressReporter } from '../pipeline/progress.ts';
import { captureLogger, fakeClock, runBulk } from './helpers/bulk-server.ts';
import { kickOffAccepted, scriptedServer } from './helpers/bulk-run.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

/**
 * What a run says while the server prepares an export (issue 13's rough edges): each poll
 * shows the export's state, the server's X-Progress, the time waited and the next poll; a
 * server that asks again and again for waits past the cap is logged once, then counted.
 */

const warehouse = useTestWarehouse(test, { noDeadlocks: true });

const TRANSACTION_TIME = '2026-02-01T10:00:00.000Z';
const MANIFEST = {
  status: 200,
  json: { transactionTime: TRANSACTION_TIME, requiresAccessToken: false, output: [], error: [] },
};

function phases(): { reporter: ProgressReporter; shown: string[] } {
  const shown: string[] = [];
  const reporter: ProgressReporter = {
    start() {},
    fileStarted() {},
    bytes() {},
    fileDone() {},
    phase: (text) => void shown.push(text),
    stop() {},
  };
  return { reporter, shown };
}

test('each poll shows the export state, the X-Progress, the time waited and the next poll', async (t) => {
  const s = await scriptedServer(t);
  s.route('GET', '/fhir/$export', kickOffAccepted(s));
  s.route(
    'GET',
    '/status/job1',
    { status: 202, headers: { 'x-progress': '10% of Patient', 'retry-after': '30' } },
    { status: 202, headers: { 'x-progress': '60% of Patient', 'retry-after': '30' } },
    { status: 429, headers: { 'retry-after': '45' } },
    MANIFEST,
  );
  s.route('DELETE', '/status/job1', { status: 202 });
  const { reporter, shown } = phases();
  const src = { name: 'watched', baseUrl: `${s.url}/fhir`, export: { maxPollIntervalSeconds: 60 } };

  const result = await runBulk(warehouse.db, src, { clock: fakeClock(), progress: reporter });

  t.is(result.status, 'succeeded', result.error);
  t.deepEqual(shown, [
    'watched: export 1 in progress (server: "10% of Patient"), 0s elapsed, next poll in 30s',
    'watched: export 1 in progress (server: "60% of Patient"), 30s elapsed, next poll in 30s',
    'watched: export 1 polled too often (429) (server: "60% of Patient"), 1m 00s elapsed, next poll in 45s',
  ]);
});

test('a status URL asking again and again to wait past the cap is logged once, then counted', async (t) => {
  const s = await scriptedServer(t);
  const throttled = { status: 429, headers: { 'retry-after': '300' } };
  s.route('GET', '/fhir/$export', kickOffAccepted(s));
  s.route('GET', '/status/job1', throttled, throttled, throttled, throttled, throttled, MANIFEST);
  s.route('DELETE', '/status/job1', { status: 202 });
  const { logger, lines } = captureLogger();
  const src = { name: 'throttled', baseUrl: `${s.url}/fhir`, export: { maxPollIntervalSeconds: 5 } };

  const result = await runBulk(warehouse.db, src, { clock: fakeClock(), logger });

  t.is(result.status, 'succeeded', result.error);
  const clamped = lines.filter((l) => String(l.event).startsWith('bulk.retry_after_clamped'));
  t.deepEqual(
    clamped.map((l) => l.event),
    ['bulk.retry_after_clamped', 'bulk.retry_after_clamped_repeated'],
  );
  t.regex(String(clamped[1]?.msg), /asked 4 more time\(s\) to wait longer .*up to 300 s.*each wait was 5 s/);
});
