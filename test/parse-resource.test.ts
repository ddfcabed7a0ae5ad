import test from 'ava';
import { checkParsedResource, parseResourceLine } from '../transforms/index.ts';

// A search page's entries are checked without a second JSON.parse, and must be judged exactly
// as the same resource written as an NDJSON line.
const cases: unknown[] = [
  { resourceType: 'Patient', id: 'p1', meta: { lastUpdated: '2026-01-01T00:00:00Z', versionId: '3' } },
  { resourceType: 'Patient' },
  { resourceType: 'Nope', id: 'x' },
  { resourceType: 'Patient', id: 'bad id!' },
  { resourceType: 'Patient', id: 'p2', meta: { lastUpdated: 'yesterday' } },
  { resourceType: 'Patient', id: 'p3', name: [{ text: 'a\u0000b' }] },
  ['not', 'an', 'object'],
  'a string',
];

for (const value of cases) {
  test(`an already parsed ${JSON.stringify(value).slice(0, 60)} is judged as its NDJSON line is`, (t) => {
    t.deepEqual(checkParsedResource(value, 7), parseResourceLine(JSON.stringify(value), 7));
  });
}
