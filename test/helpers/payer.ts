import { mkdtemp } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConnectionPool } from '@databases/pg';
import type { TestFn } from 'ava';
import { type LoadedConfig, parseConfigText, type RestSourceConfig } from '../../config/index.ts';
import { createHttpClient } from '../../connectors/http/index.ts';
import { freePort } from '../../loaders/index.ts';
import { loginMember } from '../../pipeline/members/login.ts';
import { loadSecretKey, type SecretKey } from '../../pipeline/members/secret-key.ts';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../sandbox/index.ts';
import { useFixture } from './hooks.ts';

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

/** A test file's payer: started before its tests, closed after them. */
export function usePayer<Context>(
  test: TestFn<Context>,
  options: Parameters<typeof startPayer>[0] = {},
): PayerFixture {
  return useFixture(
    test,
    () => startPayer(options),
    (payer) => payer.sandbox.close(),
  );
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

/**
 * Logs a member in without a login hint: the test plays the browser on the server's member
 * picker, submitting the form with the member's choice, as a person clicking it would.
 */
export async function loginThroughPicker(db: ConnectionPool, payer: PayerFixture, memberId: string) {
  return loginMember(db, payer.source, {
    http: createHttpClient(),
    key: payer.key,
    presentAuthorizationUrl: async (url) => {
      const page = await (await fetch(url)).text();
      const action = /<form method="get" action="([^"]+)"/.exec(page)?.[1];
      if (!action || !page.includes(`value="${memberId}"`)) throw new Error(`no picker offering ${memberId}`);
      const choice = new URL(action, url);
      for (const [, name, value] of page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
        choice.searchParams.set(decode(name ?? ''), decode(value ?? ''));
      }
      choice.searchParams.set('login_hint', memberId);
      await (await fetch(choice)).text();
    },
  });
}

function decode(html: string): string {
  return html.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
}

/** Listens on a free loopback port; resolves with the server's base URL. */
export function listenOnLoopback(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`),
    ),
  );
}

/** What the proxy answers itself instead of passing a request on. */
export interface ProxyAnswer {
  status: number;
  body: unknown;
}

/**
 * A real HTTP proxy in front of the sandbox's payer API that behaves like a FHIR server whose
 * paging links expire: each next link it hands out carries the `_search` generation it was made
 * in, and after `expireLinks()` a link of an earlier generation answers 410 Gone with an
 * OperationOutcome. `intercept` sees each search request first (a test fails a page, or changes
 * the sandbox's data while a search pages); `authorizations` keeps each member's bearer header,
 * so a test can ask the sandbox what it holds.
 */
export interface PagingProxy {
  url: string;
  intercept?: (url: URL) => ProxyAnswer | undefined | Promise<ProxyAnswer | undefined>;
  expireLinks(): void;
  /** Requests answered 410 because their link had expired. */
  gone: string[];
  authorizations: Map<string, string>;
  close: () => Promise<void>;
}

export async function startProxiedPayer(
  options: Parameters<typeof startPayer>[0] = {},
): Promise<{ payer: PayerFixture; proxy: PagingProxy }> {
  let target = '';
  let generation = 0;
  const server: Server = createHttpServer((request, response) => {
    void proxied(request.url ?? '/', request.headers.authorization).then(
      ({ status, text, contentType }) =>
        response.writeHead(status, { 'content-type': contentType }).end(text),
      (error: unknown) => response.writeHead(502).end(String(error)),
    );
  });
  const self = await listenOnLoopback(server);
  const proxy: PagingProxy = {
    url: self,
    expireLinks: () => void generation++,
    gone: [],
    authorizations: new Map(),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const fhir = (status: number, body: unknown) => ({
    status,
    text: JSON.stringify(body),
    contentType: 'application/fhir+json',
  });

  async function proxied(path: string, authorization: string | undefined) {
    const url = new URL(path, self);
    const patient = url.searchParams.get('patient') ?? url.searchParams.get('_id');
    if (patient && authorization) proxy.authorizations.set(patient, authorization);
    const made = url.searchParams.get('_search');
    if (made !== null && Number(made) < generation) {
      proxy.gone.push(url.href);
      return fhir(410, {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'not-found', diagnostics: `search ${made} has expired` }],
      });
    }
    const answer = url.pathname.includes('/payer/r4/') ? await proxy.intercept?.(url) : undefined;
    if (answer) return fhir(answer.status, answer.body);
    url.searchParams.delete('_search');
    const upstream = await fetch(`${target}${url.pathname}${url.search}`, {
      headers: { authorization: authorization ?? '' },
    });
    const text = await upstream.text();
    const contentType = upstream.headers.get('content-type') ?? 'application/json';
    // The SMART configuration keeps pointing at the sandbox; search pages' next links come back here.
    if (path.includes('.well-known') || !upstream.ok) return { status: upstream.status, text, contentType };
    const body = JSON.parse(text) as { link?: Array<{ relation: string; url: string }> };
    for (const link of body.link ?? []) {
      const next = new URL(link.url.replace(target, self));
      if (link.relation === 'next') next.searchParams.set('_search', String(generation));
      link.url = next.href;
    }
    return { status: upstream.status, text: JSON.stringify(body), contentType };
  }

  const payer = await startPayer({ ...options, baseUrl: () => `${self}/payer/r4` });
  target = payer.sandbox.url;
  const close = payer.sandbox.close;
  payer.sandbox = { ...payer.sandbox, close: async () => (await proxy.close(), close()) };
  return { payer, proxy };
}

/** A member's resources of one type as the sandbox holds them now: id and versionId. */
export async function sandboxVersions(
  payer: PayerFixture,
  proxy: PagingProxy,
  patientId: string,
  resourceType: string,
): Promise<Array<{ id: string; version: string; lastUpdated: string }>> {
  const url = new URL(`${payer.sandbox.payerBaseUrl}/${resourceType}`);
  url.searchParams.set(resourceType === 'Patient' ? '_id' : 'patient', patientId);
  url.searchParams.set('_count', '1000');
  const response = await fetch(url, {
    headers: { authorization: proxy.authorizations.get(patientId) ?? '' },
  });
  const bundle = (await response.json()) as {
    entry?: Array<{ resource: { id: string; meta: { versionId: string; lastUpdated: string } } }>;
  };
  return (bundle.entry ?? []).map(({ resource }) => ({
    id: resource.id,
    version: resource.meta.versionId,
    lastUpdated: resource.meta.lastUpdated,
  }));
}
