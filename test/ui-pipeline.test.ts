import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import test from 'ava';
import { loadPaths } from '../pipeline/load.ts';
import { configuredViews } from '../pipeline/views.ts';
import type { RunningConsole } from '../ui/index.ts';
import { createReaderRole, type ReaderRole, startTestConsole } from './helpers/console.ts';
import { createTestWarehouse, type TestWarehouse } from './helpers/warehouse.ts';

/**
 * The pipeline pages say what went wrong where, through the reader-safe views only: a run's
 * rejects and value errors by place and reason (never the rejected text or the bad value), a
 * failed run's error with any URL cut to its origin.
 */

let warehouse: TestWarehouse;
let reader: ReaderRole;
let ui: RunningConsole;
let runId: number;

const BAD_BIRTH_DATE = '1970-02-30';
const BROKEN_LINE = '{"resourceType": "Patient", "id": "broken-line-secret"';

test.before(async () => {
  warehouse = await createTestWarehouse();
  const dir = await mkdtemp(join(tmpdir(), 'fhir-etl-ui-pipeline-'));
  const patients = [
    { resourceType: 'Patient', id: 'p-good', name: [{ family: 'Good' }], birthDate: '1980-01-02' },
    { resourceType: 'Patient', id: 'p-bad-date', name: [{ family: 'Bad' }], birthDate: BAD_BIRTH_DATE },
  ];
  await writeFile(
    join(dir, 'Patient.ndjson'),
    [...patients.map((p) => JSON.stringify(p)), BROKEN_LINE, ''].join('\n'),
  );
  const summary = await loadPaths(warehouse.db, {
    paths: [dir],
    source: 'landing',
    concurrency: 1,
    maxLineBytes: 1 << 20,
    views: await configuredViews(),
  });
  runId = summary.runId;
  // A failed run whose error names a Bulk status URL (a capability).
  await warehouse.db.query(sql`
    INSERT INTO fhir_etl.runs (command, source, status, ended_at, error)
    VALUES ('run', 'bulk-src', 'failed', now(),
            'status poll failed at https://bulk.example.org/status/job-9f2c?token=abc: 500')`);
  reader = await createReaderRole(warehouse);
  ui = await startTestConsole(reader);
});
test.after.always(async () => {
  await ui?.close();
  await reader?.drop();
  await warehouse?.drop();
});

test('a run page lists its rejects and value errors by place and reason, never the text or the value', async (t) => {
  const page = await (await fetch(`${ui.url}runs/${runId}`)).text();
  const rejects = page.slice(page.indexOf('id="rejects"'), page.indexOf('id="value-errors"'));
  const valueErrors = page.slice(page.indexOf('id="value-errors"'));
  t.regex(rejects, /<td class="num">3<\/td>/, 'the broken line, by number');
  t.regex(valueErrors, /Patient\/p-bad-date/);
  t.regex(valueErrors, /patient\.birth_date/);
  t.false(page.includes(BAD_BIRTH_DATE), 'the bad value is not shown');
  t.false(page.includes('broken-line-secret'), 'the rejected text is not shown');
});

test('the sources table and the runs list count rejects and value errors', async (t) => {
  const page = await (await fetch(ui.url)).text();
  const landing = /<tr>\s*<td>landing<\/td>[\s\S]*?<\/tr>/.exec(page)?.[0] ?? '';
  const cells = [...landing.matchAll(/<td class="num">([^<]*)<\/td>/g)].map((m) => m[1]);
  // rows loaded, rejects, value errors, bulk issues
  t.deepEqual(cells, ['2', '1', '1', '0']);
});

test('a failed run shows its error with the URL cut to its origin', async (t) => {
  const page = await (await fetch(ui.url)).text();
  t.regex(page, /status poll failed at https:\/\/bulk\.example\.org\/\.\.\. 500/);
  t.false(page.includes('job-9f2c'));
  t.false(page.includes('token=abc'));
});
