import test from 'ava';
import { UsageError } from '../bin/exit-codes.ts';
import { instant, port, positiveInt, seed } from '../bin/option-parsers.ts';
import { runCli } from './helpers/cli.ts';

test('positiveInt takes whole numbers from 1, and refuses what Number() alone would let through', (t) => {
  const parse = positiveInt('--limit');
  t.is(parse('1'), 1);
  t.is(parse('50'), 50);
  for (const bad of ['0', '-1', '1.5', '', ' 3', '1e3', '0x10', 'ten', '99999999999999999999']) {
    const error = t.throws(() => parse(bad), { instanceOf: UsageError }, bad);
    t.is(error?.message, `--limit must be a positive whole number, got "${bad}"`);
  }
});

test('port takes 0 (any free port) to 65535, with one message whichever command asks', (t) => {
  const parse = port('--metrics-port');
  t.is(parse('0'), 0);
  t.is(parse('65535'), 65535);
  for (const bad of ['65536', '-1', '80.5', '', 'http']) {
    const error = t.throws(() => parse(bad), { instanceOf: UsageError }, bad);
    t.is(error?.message, `--metrics-port must be a port number (0-65535), got "${bad}"`);
  }
});

test('seed takes 0 and up, the same in demo and sandbox', (t) => {
  const parse = seed('--seed');
  t.is(parse('0'), 0);
  t.is(parse('1'), 1);
  t.is(parse('424242'), 424242);
  for (const bad of ['-1', '1.5', '', 'abc']) t.throws(() => parse(bad), { instanceOf: UsageError }, bad);
});

test('instant takes FHIR instants and refuses impossible months, days, hours and zones', (t) => {
  const parse = instant('--since');
  for (const good of ['2026-01-31T00:00:00Z', '2026-12-31T23:59:59.123+05:30', '2026-06-30T12:00:00-14:00'])
    t.is(parse(good), good);
  for (const bad of [
    '2026-13-01T00:00:00Z',
    '2026-01-32T00:00:00Z',
    '2026-01-01T99:00:00Z',
    '2026-01-01T00:60:00Z',
    '2026-01-01T00:00:00+15:00',
    '2026-01-01',
    '2026-01-01T00:00:00',
  ]) {
    const error = t.throws(() => parse(bad), { instanceOf: UsageError }, bad);
    t.regex(error?.message ?? '', /^--since must be a FHIR instant/);
  }
});

test('demo and sandbox read --seed alike: 0 is taken by both, -1 refused by both (exit 2)', async (t) => {
  for (const command of ['demo', 'sandbox']) {
    // Options parse in order: --seed 0 passes, then a bad --patients stops the command before
    // any server or warehouse starts, which shows --seed 0 was accepted.
    const zero = await runCli([command, '--seed', '0', '--patients', 'x']);
    t.is(zero.code, 2, command);
    t.regex(zero.stderr, /--patients must be a positive whole number, got "x"/, command);
    t.notRegex(zero.stderr, /--seed/, command);
    const refused = await runCli([command, '--seed', '-1']);
    t.is(refused.code, 2, command);
    t.regex(refused.stderr, /--seed must be a whole number \(0 or more\), got "-1"/, command);
  }
});
