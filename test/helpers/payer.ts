import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionPool } from '@databases/pg';
import { type LoadedConfig, parseConfigText, type RestSourceConfig } from '../../config/index.ts';
import { createHttpClient } from '../../connectors/http/index.ts';
import { loginMember } from '../../pipeline/members/login.ts';
import { loadSecretKey, type SecretKey } from '../../pipeline/members/secret-key.ts';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../sandbox/index.ts';

/**
 * A payer (Payer-to-Payer) sandbox with this test's own OAuth client, whose redirect URI is a
 * free loopback port, and the fhir-etl config of a `payer` fhir-rest source pointing at it.
 */
export interface PayerFixture {
  sandbox: Sandbox;
  config: LoadedConfig;
  source: RestSourceConfig;
  key: SecretKey;
  redirectUri: string;
}

export async function startPayer(
  options: SandboxOptions & {
    resources?: string[];
    pageSize?: number;
    baseUrl?: (s: Sandbox) => string;
  } = {},
): Promise<PayerFixture> {
  const port = await freePort();
  const redirectUri = `http://127.0.0.1:${port}/callback`;
  const sandbox = await startSandbox({
    patients: 4,
    ...options,
    clients: [
      {
        clientId: 'etl-test',
        clientSecret: 'etl-test-secret',
        grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
        redirectUris: [redirectUri],
      },
    ],
  });
  const keyFile = join(await mkdtemp(join(tmpdir(), 'fhir-etl-key-')), 'secret.key');
  const resources = options.resources ?? ['Patient', 'Encounter', 'Condition', 'Observation'];
  const config = parseConfigText(
    JSON.stringify({
      secrets: { keyFile },
      sources: [
        {
          name: 'payer',
          kind: 'fhir-rest',
          baseUrl: options.baseUrl?.(sandbox) ?? sandbox.payerBaseUrl,
          resources,
          pageSize: options.pageSize ?? 100,
          concurrency: 2,
          auth: {
            type: 'authorization_code',
            clientId: 'etl-test',
            clientSecret: 'etl-test-secret',
            redirectUri,
            scope: 'launch/patient openid fhirUser offline_access patient/*.rs',
          },
          send: { tokenUrl: sandbox.tokenUrl, clientId: 'etl-test', clientSecret: 'etl-test-secret' },
        },
      ],
    }),
    join(tmpdir(), 'fhir-etl.config.json'),
  );
  const key = await loadSecretKey(config.secrets, { create: true });
  return { sandbox, config, source: config.sources[0] as RestSourceConfig, key, redirectUri };
}

/**
 * Logs a member in through the real callback listener: the test plays the browser, following
 * the authorize redirect (login_hint skips the member picker) to the listener.
 */
export async function loginAs(db: ConnectionPool, payer: PayerFixture, memberId: string) {
  return loginMember(db, payer.source, {
    http: createHttpClient(),
    key: payer.key,
    loginHint: memberId,
    presentAuthorizationUrl: async (url) => {
      const response = await fetch(url);
      await response.text();
    },
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
