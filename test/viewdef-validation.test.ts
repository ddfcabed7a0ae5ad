import test from 'ava';
import {
  compileView,
  parseViewDefinition,
  ViewDefinitionError,
  ViewEvaluationError,
} from '../transforms/index.ts';

const column = (name: string, path = 'id') => ({ name, path });

function invalid(view: unknown): ViewDefinitionError {
  const error = (() => {
    try {
      parseViewDefinition(view, 'views/broken.json');
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  if (!(error instanceof ViewDefinitionError))
    throw new Error(`expected ViewDefinitionError, got ${String(error)}`);
  return error;
}

test('a bad column name is reported with the view name and its JSON path', (t) => {
  const error = invalid({
    name: 'pts',
    resource: 'Patient',
    select: [{ column: [column('id')] }, { column: [column('1bad')] }],
  });
  t.is(error.code, 'VIEW_INVALID');
  t.is(error.context.path, 'select[1].column[0].name');
  t.regex(error.message, /'pts'.*views\/broken\.json.*select\[1\]\.column\[0\]\.name/);
});

test('a missing resource is reported', (t) => {
  const error = invalid({ name: 'pts', select: [{ column: [column('id')] }] });
  t.is(error.context.path, 'resource');
});

test('duplicate column names are rejected', (t) => {
  const error = invalid({
    name: 'pts',
    resource: 'Patient',
    select: [{ column: [column('id'), column('id')] }],
  });
  t.regex(error.message, /duplicate column name 'id'/);
});

test('unknown keys are rejected at their path', (t) => {
  const error = invalid({
    name: 'pts',
    resource: 'Patient',
    select: [{ column: [{ name: 'id', path: 'id', colection: true }] }],
  });
  t.is(error.context.path, 'select[0].column[0].colection');
});

test('unionAll branches with different columns are rejected', (t) => {
  const error = invalid({
    name: 'u',
    resource: 'Patient',
    select: [{ unionAll: [{ column: [column('a')] }, { column: [column('b')] }] }],
  });
  t.is(error.context.path, 'select[0].unionAll[1]');
});

test('an undefined constant is rejected where it is used', (t) => {
  const error = invalid({
    name: 'c',
    resource: 'Patient',
    select: [{ forEach: 'name.where(use = %nope)', column: [column('f', 'family')] }],
  });
  t.is(error.context.path, 'select[0].forEach');
  t.regex(error.message, /%nope/);
});

test('a FHIRPath syntax error names the expression path', (t) => {
  const error = invalid({
    name: 's',
    resource: 'Patient',
    select: [{ column: [column('x', 'name.where(')] }],
  });
  t.is(error.context.path, 'select[0].column[0].path');
});

test('a non-collection column yielding several values fails evaluation naming view and expression', (t) => {
  const view = compileView(
    parseViewDefinition({
      name: 'names',
      resource: 'Patient',
      select: [{ column: [column('family', 'name.family')] }],
    }),
  );
  const error = t.throws(() =>
    view.emit({ resourceType: 'Patient', id: 'p1', name: [{ family: 'A' }, { family: 'B' }] }),
  );
  t.true(error instanceof ViewEvaluationError);
  t.is((error as ViewEvaluationError).context.expression, 'name.family');
  t.regex(String(error?.message), /'names'.*Patient\/p1/);
});

test('an ansi/type tag must name a SQL type fhir-etl holds, reported with its JSON path', (t) => {
  const tagged = (value: string) => ({
    name: 'pts',
    resource: 'Patient',
    select: [{ column: [{ ...column('born', 'birthDate'), tag: [{ name: 'ansi/type', value }] }] }],
  });
  const error = invalid(tagged('TIMESTAMP'));
  t.is(error.context.path, 'select[0].column[0].tag[0].value');
  t.regex(
    error.message,
    /ansi\/type "TIMESTAMP" is not one fhir-etl holds: BOOLEAN, DATE, .*TIMESTAMP WITH TIME ZONE/,
  );
  t.notThrows(() => parseViewDefinition(tagged('decimal(10, 2)')));
  t.is(compileView(parseViewDefinition(tagged('date'))).columns[0]?.ansiType, 'DATE');
});
