import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from '@databases/pg';
import test from 'ava';
import { runMain } from './helpers/main.ts';
import { useTestWarehouse } from './helpers/warehouse.ts';

/**
 * User views never go stale silently: a view table the warehouse has is filled by every load,
 * from the definition it was built with when its folder is not given; `--no-views` on such a
 * warehouse is refused; `--views DIR` takes one folder and never swallows the paths after it.
 */
const warehouse = useTestWarehouse(test);
const dir = mkdtempSync(join(tmpdir(), 'fhir-etl-kept-views-'));
const viewsDir = join(dir, 'my-views');
mkdirSync(viewsDir);
/** Writes the user's view member_gender with these columns (besides its id). */
function writeMemberGender(columns: Array<{ name: string; path: string; type: string }>): void {
  const view = {
    resourceType: 'ViewDefinition',
    name: 'member_gender',
    resource: 'Patient',
    select: [{ column: [{ name: 'id', path: 'getResourceKey()', type: 'id' }, ...columns] }],
  };
  writeFileSync(join(viewsDir, 'member_gender.json'), JSON.stringify(view));
}
writeMemberGender([
  { name: 'gender', path: 'gender', type: 'code' },
  { name: 'born', path: 'birthDate', type: 'date' },
]);
function patients(name: string, ids: string[]): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    ids
      .map((id) => JSON.stringify({ resourceType: 'Patient', id, gender: 'female', birthDate: '1980-01-02' }))
      .join('\n'),
  );
  return path;
}
const db = () => warehouse.db;
const load = (...args: string[]) => runMain(['load', '--database-url', warehouse.url, ...args]);
const memberGenderIds = async () =>
  (await db().query(sql`SELECT id FROM fhir.member_gender ORDER BY id`)).map((r: { id: string }) => r.id);

test.serial('load --views DIR file.ndjson: the folder is one argument, the file another', async (t) => {
  const result = await load('--views', viewsDir, patients('a.ndjson', ['a1', 'a2']));
  t.is(result.code, 0, result.stderr);
  t.deepEqual(await memberGenderIds(), ['a1', 'a2']);
});

test.serial(
  'a later load without --views still fills the user view, from its stored definition, without rebuilding it',
  async (t) => {
    const [before] = await db().query(sql`SELECT built_at FROM fhir_etl.views WHERE name = 'member_gender'`);
    const result = await load(patients('b.ndjson', ['b1']));
    t.is(result.code, 0, result.stderr);
    t.regex(result.stdout, /also filled, from the definitions the warehouse keeps: fhir\.member_gender/);
    t.deepEqual(await memberGenderIds(), ['a1', 'a2', 'b1']);
    const [after] = await db().query(sql`SELECT built_at FROM fhir_etl.views WHERE name = 'member_gender'`);
    t.deepEqual(after.built_at, before.built_at, 'the table was kept, not rebuilt');
  },
);

test.serial('load --no-views on a warehouse with view tables is refused, naming them (exit 2)', async (t) => {
  const result = await load('--no-views', patients('c.ndjson', ['c1']));
  t.is(result.code, 2, result.stderr);
  t.regex(
    result.stderr,
    /this warehouse has view tables \(fhir\.allergy_intolerance, .* and 12 more\) that a load with --no-views would leave stale: load without --no-views/,
  );
  t.regex(result.stderr, /\[VIEWS_WOULD_GO_STALE\]/);
  const raw = await db().query(sql`SELECT id FROM fhir_raw.patient WHERE id = 'c1'`);
  t.is(raw.length, 0, 'nothing was loaded');
});

test.serial('rebuild without --views rebuilds the user view too; --view names it', async (t) => {
  await db().query(sql`DELETE FROM fhir.member_gender`);
  const all = await runMain(['rebuild', '--database-url', warehouse.url]);
  t.is(all.code, 0, all.stderr);
  t.regex(all.stdout, /member_gender\s+3\s+3/);
  t.deepEqual(await memberGenderIds(), ['a1', 'a2', 'b1']);
  const one = await runMain(['rebuild', '--database-url', warehouse.url, '--view', 'member_gender']);
  t.is(one.code, 0, one.stderr);
  t.regex(one.stdout, /member_gender/);
  t.notRegex(one.stdout, /explanation_of_benefit/);
});

test.serial(
  'giving the folder again with a changed view takes over from the stored definition',
  async (t) => {
    writeMemberGender([{ name: 'sex', path: 'gender', type: 'code' }]);
    const result = await load('--views', viewsDir, patients('d.ndjson', ['d1']));
    t.is(result.code, 0, result.stderr);
    t.notRegex(result.stdout, /also filled/);
    const rows = await db().query(sql`SELECT id, sex FROM fhir.member_gender ORDER BY id`);
    t.deepEqual(
      rows.map((r: { id: string }) => r.id),
      ['a1', 'a2', 'b1', 'd1'],
    );
  },
);
