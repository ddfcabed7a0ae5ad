import test from 'ava';
import { ConfigError, DATE_OF_SERVICE_PARAMETERS, parseConfigText } from '../config/index.ts';

/** The `kind: payer-exchange` source: its defaults, and what the config check refuses (by path). */

const exchange = (extra = '') => `
sources:
  - name: acme
    kind: payer-exchange
    baseUrl: https://p2p.acme.example.com/r4
    auth: { type: backend_services, clientId: riverside, privateKeyFile: ./key.pem }
    requestingPayer: { value: '1234567893', name: Riverside Health Plan }
    members: { file: ./members.csv }
    consentDocument: https://riverside.example.org/consents/{member}
${extra}`;

function problems(text: string): string[] {
  try {
    parseConfigText(text, '/etc/fhir-etl/p2p.yaml', {});
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  return [];
}

test('a payer exchange needs little: bulk mode, 30-day Groups, a 5-year lookback by date of service', (t) => {
  const config = parseConfigText(exchange(), '/etc/fhir-etl/p2p.yaml', {});
  const source = config.sources[0];
  if (source?.kind !== 'payer-exchange') return t.fail();
  t.is(source.mode, 'bulk');
  t.is(source.match.maxGroupAgeDays, 30);
  t.is(source.export.lookbackYears, 5);
  t.deepEqual(source.export.dateOfService, DATE_OF_SERVICE_PARAMETERS);
  t.deepEqual(source.export.include, ['ExplanationOfBenefit?use=preauthorization']);
  t.is(source.requestingPayer.system, 'http://hl7.org/fhir/sid/us-npi');
  t.deepEqual(source.members, { file: '/etc/fhir-etl/members.csv' });
  t.is(source.auth.type === 'backend_services' && source.auth.privateKeyFile, '/etc/fhir-etl/key.pem');
  t.deepEqual(source.single.pull, 'auto');
});

test('what a payer exchange refuses, each by its path', (t) => {
  t.deepEqual(
    problems(
      exchange(`    mode: nightly
    export:
      lookbackYears: 0
      dateOfService: { Encountr: date }
      include: [Condition?category=problem-list-item]`).replace('{member}', '{id}'),
    ),
    [
      'sources[0].mode: Invalid option: expected one of "bulk"|"single"',
      'sources[0].consentDocument: must contain {member}',
      'sources[0].export.lookbackYears: Too small: expected number to be >=1',
    ],
  );
  t.deepEqual(
    problems(
      exchange(`    export:
      dateOfService: { Encountr: date }
      include: [Condition?category=problem-list-item]`),
    ),
    [
      'sources[0].export.dateOfService.Encountr: Encountr is not an R4 resource type',
      'sources[0].export.include[0]: Condition has no dateOfService parameter: an include filter would narrow it instead of widening its lookback',
    ],
  );
  t.deepEqual(
    problems(
      exchange().replace('members: { file: ./members.csv }', 'members: { file: a.csv, query: SELECT 1 }'),
    ),
    ['sources[0].members: must be { file: PATH } (CSV or NDJSON) or { query: SQL }'],
  );
});
