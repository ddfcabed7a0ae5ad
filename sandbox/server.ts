import { setTimeout as sleep } from 'node:timers/promises';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { registerBulkRoutes } from './bulk/routes.ts';
import { registerFileRoutes } from './bulk/files.ts';
import {
  AUTHORIZE_PATH,
  PAYER_BASE,
  PROVIDER_BASE,
  type SandboxContext,
  type SandboxUrls,
  TOKEN_PATH,
} from './context.ts';
import { createDataset } from './data/dataset.ts';
import { GROUPS, groupId, practitionerNpi } from './data/shared.ts';
import {
  AuthorizePageError,
  FhirRequestError,
  OAuthError,
  operationOutcome,
  SandboxStartError,
} from './errors.ts';
import { escape, registerAuthorizeEndpoint } from './oauth/authorize.ts';
import { registerTokenEndpoint } from './oauth/token-endpoint.ts';
import { createTokenStore } from './oauth/tokens.ts';
import {
  type FaultSettings,
  parseFaults,
  resolveOptions,
  type SandboxClient,
  type SandboxOptions,
} from './options.ts';
import { registerPayerRoutes } from './payer/routes.ts';
import { type PdexHandle, P2P_BASE, registerPdexRoutes } from './pdex/routes.ts';
import { registerSmartConfiguration } from './smart-configuration.ts';

/** A running sandbox: its addresses, its members, and handles for tests. */
export interface Sandbox extends Readonly<SandboxUrls> {
  members: ReadonlyArray<{
    memberId: string;
    patientId: string;
    name: string;
    birthDate: string;
    postalCode: string;
  }>;
  groups: ReadonlyArray<{ id: string; npi: string; patientIds: string[] }>;
  /** The Payer-to-Payer API (CMS-0057-F, Da Vinci PDex): its FHIR base and test handles. */
  p2pBaseUrl: string;
  pdex: PdexHandle;
  registerClient(client: SandboxClient): void;
  setFaults(faults: string | FaultSettings): void;
  /** One step of time: some resources updated (versionId + 1, lastUpdated = now), some deleted, some added. */
  advance(): void;
  /** Every request answered, for tests (e.g. no Authorization header reached the file origin). */
  requests: ReadonlyArray<{
    method: string;
    url: string;
    origin: string;
    authorization?: string;
    status: number;
  }>;
  /** Resources accepted by the send side. */
  posted: ReadonlyArray<{ memberId: string; resource: unknown }>;
  close(): Promise<void>;
}

/** Starts the sandbox on 127.0.0.1 (never another interface). */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const resolved = resolveOptions(options);
  const context: SandboxContext = {
    options: resolved,
    faults: resolved.faults,
    urls: {
      url: '',
      providerBaseUrl: '',
      payerBaseUrl: '',
      tokenUrl: '',
      authorizeUrl: '',
      fileOriginUrl: '',
    },
    dataset: createDataset({ patients: resolved.patients, seed: resolved.seed, now: resolved.now }),
    tokens: createTokenStore(resolved.now),
    clients: new Map(resolved.clients.map((c) => [c.clientId, c])),
    jobs: new Map(),
    posted: [],
    requests: [],
  };
  const app = createApp(context, () => context.urls.url);
  registerSmartConfiguration(app, context);
  registerTokenEndpoint(app, context);
  registerAuthorizeEndpoint(app, context);
  registerBulkRoutes(app, context);
  registerPayerRoutes(app, context);
  const pdex = registerPdexRoutes(app, context);
  const fileApp =
    resolved.fileOrigin === 'separate' ? createApp(context, () => context.urls.fileOriginUrl) : app;
  registerFileRoutes(fileApp, context);

  const url = await listen(app, resolved.port);
  const fileOriginUrl = fileApp === app ? url : await listen(fileApp, 0);
  Object.assign(context.urls, {
    url,
    providerBaseUrl: `${url}${PROVIDER_BASE}`,
    payerBaseUrl: `${url}${PAYER_BASE}`,
    tokenUrl: `${url}${TOKEN_PATH}`,
    authorizeUrl: `${url}${AUTHORIZE_PATH}`,
    fileOriginUrl,
  });
  const patientsByGroup = Array.from({ length: GROUPS }, () => [] as string[]);
  context.dataset.members().forEach((m, index) => patientsByGroup[index % GROUPS]!.push(m.patientId));
  return {
    ...context.urls,
    p2pBaseUrl: `${url}${P2P_BASE}`,
    pdex,
    members: context.dataset.members(),
    groups: patientsByGroup.map((patientIds, n) => ({
      id: groupId(n),
      npi: practitionerNpi(resolved.seed, n),
      patientIds,
    })),
    registerClient: (client) => void context.clients.set(client.clientId, client),
    setFaults: (faults) => {
      context.faults = parseFaults(faults);
    },
    advance: () => context.dataset.advance(),
    requests: context.requests,
    posted: context.posted,
    close: async () => {
      await app.close();
      if (fileApp !== app) await fileApp.close();
    },
  };
}

function createApp(context: SandboxContext, origin: () => string): FastifyInstance {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  void app.register(formbody);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    ['application/json', 'application/fhir+json'],
    { parseAs: 'string' },
    (_request, body, done) => {
      try {
        done(null, JSON.parse(String(body)));
      } catch {
        done(null, String(body));
      }
    },
  );
  app.addHook('onRequest', async (request) => {
    if (context.faults.slow && !request.url.startsWith('/bulk-files/')) await sleep(50);
  });
  app.addHook('onResponse', async (request, reply) => {
    const authorization = request.headers.authorization;
    context.requests.push({
      method: request.method,
      url: `${origin()}${request.url}`,
      origin: origin(),
      ...(authorization === undefined ? {} : { authorization }),
      status: reply.statusCode,
    });
  });
  app.setErrorHandler((error: FastifyError | Error, _request, reply) => {
    if (error instanceof OAuthError) {
      if (error.status === 401) reply.header('www-authenticate', 'Basic realm="fhir-etl-sandbox"');
      return reply
        .code(error.status)
        .header('cache-control', 'no-store')
        .send({ error: error.error, error_description: error.message });
    }
    if (error instanceof AuthorizePageError) {
      return reply
        .code(400)
        .type('text/html; charset=utf-8')
        .send(
          `<!doctype html><html><body><h1>Authorization refused</h1><p>${escape(error.message)}</p></body></html>`,
        );
    }
    if (error instanceof FhirRequestError) {
      return reply
        .code(error.status)
        .headers(error.headers)
        .type('application/fhir+json')
        .send(error.outcome());
    }
    const status = 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 500;
    return reply
      .code(status)
      .type('application/fhir+json')
      .send(operationOutcome(status >= 500 ? 'exception' : 'invalid', error.message));
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .type('application/fhir+json')
      .send(operationOutcome('not-found', `no route for ${request.method} ${request.url}`)),
  );
  return app;
}

async function listen(app: FastifyInstance, port: number): Promise<string> {
  try {
    await app.listen({ host: '127.0.0.1', port });
  } catch (error) {
    throw new SandboxStartError(`the sandbox could not listen on 127.0.0.1:${port}`, { port }, error);
  }
  const address = app.server.address();
  if (address === null || typeof address === 'string')
    throw new SandboxStartError('the sandbox has no TCP address', { port });
  return `http://127.0.0.1:${address.port}`;
}
