import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { configuredViews } from '../pipeline/views.ts';

/**
 * A process that lives on (the scheduler between fires) asks for its views at every run:
 * an unchanged file is not parsed and compiled again, and a changed one is, at the next ask.
 */

async function viewsFolder(columns: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fhir-etl-views-once-'));
  await writeView(dir, columns);
  return dir;
}

function writeView(dir: string, columns: string[]): Promise<void> {
  const view = {
    resourceType: 'ViewDefinition',
    name: 'my_flags',
    resource: 'Flag',
    status: 'active',
    select: [{ column: columns.map((name) => ({ name, path: name })) }],
  };
  return writeFile(join(dir, 'my_flags.json'), JSON.stringify(view));
}

test('asked again, unchanged views are the very same compiled views', async (t) => {
  const dir = await viewsFolder(['id']);

  const first = await configuredViews([dir]);
  const second = await configuredViews([dir]);

  t.is(first.length, second.length);
  first.forEach((view, i) => t.is(second[i], view, view.name));
});

test('a view whose file changed is compiled again from the new text; the others are kept', async (t) => {
  const dir = await viewsFolder(['id']);
  const before = await configuredViews([dir]);

  await writeView(dir, ['id', 'status']);
  const after = await configuredViews([dir]);

  const mine = (views: typeof before) => views.find((view) => view.name === 'my_flags');
  t.deepEqual(
    mine(before)?.columns.map((column) => column.name),
    ['id'],
  );
  t.deepEqual(
    mine(after)?.columns.map((column) => column.name),
    ['id', 'status'],
  );
  t.deepEqual(mine(after)?.emit({ resourceType: 'Flag', id: 'f1', status: 'active' }), [['f1', 'active']]);
  t.is(
    after.find((view) => view.name === 'patient'),
    before.find((view) => view.name === 'patient'),
  );
});

test('the shared definitions cannot be changed by one of their users', async (t) => {
  const [view] = await configuredViews();
  t.true(Object.isFrozen(view?.definition));
  t.true(Object.isFrozen(view?.definition.select[0]));
  t.throws(() => {
    (view?.definition as { name?: string }).name = 'renamed';
  });
});
