import test from 'ava';
import {
  discoverSmartConfiguration,
  processSmartConfigurationResponse,
  SmartConfigurationError,
} from '../connectors/auth/index.ts';
import { createHttpClient } from '../connectors/http/index.ts';
import { recordingSleep, startHttpServer } from './helpers/http-server.ts';

const wellKnown = 'https://fhir.example.com/r4/.well-known/smart-configuration';

test('a SMART configuration yields its token endpoint and what the server supports', async (t) => {
  const response = Response.json({
    token_endpoint: 'https://auth.example.com/token',
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
    capabilities: ['client-confidential-asymmetric'],
  });

  const configuration = await processSmartConfigurationResponse(response, wellKnown);

  t.is(configuration.token_endpoint, 'https://auth.example.com/token');
  t.deepEqual(configuration.token_endpoint_auth_signing_alg_values_supported, ['RS384', 'ES384']);
});

test('a relative token_endpoint is resolved against the configuration URL', async (t) => {
  const response = Response.json({
    token_endpoint: '/auth/token',
    authorization_endpoint: '/auth/authorize',
  });

  const configuration = await processSmartConfigurationResponse(response, wellKnown);

  t.is(configuration.token_endpoint, 'https://fhir.example.com/auth/token');
  t.is(configuration.authorization_endpoint, 'https://fhir.example.com/auth/authorize');
});

test('a configuration without token_endpoint is refused, suggesting auth.tokenUrl', async (t) => {
  const error = await t.throwsAsync(
    processSmartConfigurationResponse(Response.json({ capabilities: [] }), wellKnown),
    { instanceOf: SmartConfigurationError },
  );

  t.is(error?.code, 'SMART_CONFIGURATION_INVALID');
  t.true(error?.message.includes(wellKnown));
  t.regex(error?.message ?? '', /auth\.tokenUrl/);
});

test('discovery reads [base]/.well-known/smart-configuration, with or without a trailing slash', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  server.route('GET', '/r4/.well-known/smart-configuration', {
    status: 200,
    json: { token_endpoint: '/token' },
  });

  const configuration = await discoverSmartConfiguration(server.url('/r4/'), createHttpClient());

  t.is(configuration.token_endpoint, server.url('/token'));
  t.is(server.requests[0]?.headers.accept, 'application/json');
});

test('a server without a SMART configuration fails discovery with the URL it tried', async (t) => {
  const server = await startHttpServer();
  t.teardown(server.close);
  const { sleep } = recordingSleep();

  const error = await t.throwsAsync(
    discoverSmartConfiguration(server.url('/r4'), createHttpClient({ sleep })),
    {
      instanceOf: SmartConfigurationError,
    },
  );

  t.true(error?.message.includes(server.url('/r4/.well-known/smart-configuration')));
  t.regex(error?.message ?? '', /404/);
});
