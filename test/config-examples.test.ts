import { readdirSync } from 'node:fs';
import test from 'ava';
import { loadConfig } from '../config/index.ts';
import { projectPath } from './helpers/project.ts';

const CONFIG_DIR = `${projectPath('config')}/`;
const examples = readdirSync(CONFIG_DIR).filter((name) => name.endsWith('.example.yaml'));

test('the shipped examples are there: the sandbox, both 1up APIs and PDex Payer-to-Payer', (t) => {
  t.deepEqual(examples.sort(), [
    '1up-payer-to-payer.example.yaml',
    '1up-provider-access.example.yaml',
    'pdex-payer-to-payer.example.yaml',
    'sandbox.example.yaml',
  ]);
});

test('the PDex Payer-to-Payer example matches in bulk with SMART Backend Services and a 5-year lookback', async (t) => {
  const config = await loadConfig(`${CONFIG_DIR}pdex-payer-to-payer.example.yaml`, {
    PRIOR_PAYER_CLIENT_ID: 'riverside',
    OUR_NPI: '1234567893',
  });
  const exchange = config.sources[0];
  if (exchange?.kind !== 'payer-exchange' || exchange.auth.type !== 'backend_services') return t.fail();
  t.is(exchange.mode, 'bulk');
  t.is(exchange.auth.privateKeyFile, `${CONFIG_DIR}keys/acme-p2p.private.pem`);
  t.deepEqual(exchange.members, { file: `${CONFIG_DIR}members/acme-prior-payer.csv` });
  t.is(exchange.export.lookbackYears, 5);
  t.is(exchange.match.maxGroupAgeDays, 30);
  t.deepEqual(exchange.requestingPayer, {
    system: 'http://hl7.org/fhir/sid/us-npi',
    value: '1234567893',
    name: 'Riverside Health Plan',
  });
});

for (const name of examples) {
  test(`${name} is a valid config once its environment variables are set`, async (t) => {
    // Any value will do for the secrets the example takes from the environment.
    const env = new Proxy({}, { get: (_target, key) => `value-of-${String(key)}` });
    const config = await loadConfig(`${CONFIG_DIR}${name}`, env);
    t.true(config.sources.length > 0);
  });
}

test("the 1up examples use 1up's real endpoints and send its scope verbatim", async (t) => {
  const env = {
    ONEUP_CLIENT_ID: 'id',
    ONEUP_CLIENT_SECRET: 'secret',
    ONEUP_P2P_CLIENT_ID: 'id',
    ONEUP_P2P_CLIENT_SECRET: 'secret',
  };
  const provider = await loadConfig(`${CONFIG_DIR}1up-provider-access.example.yaml`, env);
  const bulk = provider.sources[0];
  if (bulk?.kind !== 'bulk' || bulk.auth.type !== 'client_credentials') return t.fail();
  t.is(bulk.baseUrl, 'https://gateway.1up.health/v1/bison/bulk-export/bulk-data/r4');
  t.is(bulk.auth.tokenUrl, 'https://gateway.1up.health/auth/realms/dev-portal/protocol/openid-connect/token');
  t.is(bulk.auth.scope, 'bulk-data|user/*.rs');
  const payer = await loadConfig(`${CONFIG_DIR}1up-payer-to-payer.example.yaml`, env);
  const rest = payer.sources[0];
  if (rest?.kind !== 'fhir-rest') return t.fail();
  t.is(rest.baseUrl, 'https://api.1updemohealthplan.com/r4');
  t.is(rest.auth.authorizeUrl, 'https://auth.1updemohealthplan.com/oauth2/authorize/payer2payer');
  t.is(rest.auth.tokenUrl, 'https://auth.1updemohealthplan.com/oauth2/token');
});
