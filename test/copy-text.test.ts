import test from 'ava';
import { encodeCopyValue, escapeCopyText } from '../loaders/index.ts';

test('COPY text escapes backslash, tab, newline and carriage return only', (t) => {
  t.is(escapeCopyText('plain "quoted" text'), 'plain "quoted" text');
  t.is(escapeCopyText('a\\b\tc\nd\re'), 'a\\\\b\\tc\\nd\\re');
});

test('values encode as COPY text: NULL, booleans, numbers, JSON for objects', (t) => {
  t.is(encodeCopyValue(null), '\\N');
  t.is(encodeCopyValue(undefined), '\\N');
  t.is(encodeCopyValue(true), 't');
  t.is(encodeCopyValue(false), 'f');
  t.is(encodeCopyValue(12.5), '12.5');
  t.is(encodeCopyValue(Number.NaN), '\\N');
  t.is(encodeCopyValue(['a\tb', 1]), '["a\\\\tb",1]');
});
