import test from 'ava';
import { parseResourceLine } from '../transforms/index.ts';

// A meta.lastUpdated the instant pattern admits but the calendar does not (2023-02-30, year
// 0000) failed the whole file in COPY; it is a reject of its line.

const line = (lastUpdated: string) =>
  parseResourceLine(JSON.stringify({ resourceType: 'Patient', id: 'p', meta: { lastUpdated } }), 1);

test('a lastUpdated on no calendar is rejected; leap days are kept', (t) => {
  for (const bad of [
    '2023-02-30T00:00:00Z',
    '2023-04-31T10:00:00+02:00',
    '2100-02-29T00:00:00Z',
    '0000-01-01T00:00:00Z',
  ]) {
    const parsed = line(bad);
    t.false(parsed?.ok, bad);
    t.regex(parsed?.ok === false ? parsed.reason : '', /is not a FHIR instant/);
  }
  for (const good of ['2024-02-29T23:59:60Z', '2000-02-29T00:00:00Z', '2023-12-31T23:59:59.123-05:00']) {
    t.true(line(good)?.ok, good);
  }
});
