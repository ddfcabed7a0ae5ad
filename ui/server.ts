import { randomBytes } from 'node:crypto';
import type { ConnectionPool } from '@databases/pg';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ConsoleListenError } from './errors.ts';
import { registerAnalyticsRoutes } from './routes/analytics.ts';
import { registerAssets } from './routes/assets.ts';
import type { ConsoleContext } from './routes/context.ts';
import { registerMemberRoutes } from './routes/members.ts';
import { registerPipelineRoutes } from './routes/pipeline.ts';
import { authenticate, type ConsoleAuth, challenge, requireAuthBeyondLoopback } from './security/auth.ts';
import { memberHandles } from './security/member-handle.ts';
import { checkReaderRole } from './security/reader-role.ts';
import { html } from './templates/html.ts';
import { page } from './templates/layout.ts';

export interface ConsoleOptions {
  /** A pool connected as the read-only role (never the loader). */
  db: ConnectionPool;
  viewSchema?: string;
  host?: string;
  /** 0: any free port. */
  port?: number;
  auth?: ConsoleAuth;
  /** Configured sources and their cron, for freshness against the schedule. */
  schedules?: Map<string, string | undefined>;
  logger?: Logger;
}

export interface RunningConsole {
  url: string;
  /** The database role the console reads as. */
  role: string;
  close(): Promise<void>;
}

/**
 * Starts the console: refuses (before listening) an address beyond loopback without
 * authentication and a role that can read member tokens, then serves.
 */
export async function startConsole(options: ConsoleOptions): Promise<RunningConsole> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8977;
  requireAuthBeyondLoopback(host, options.auth);
  const role = await checkReaderRole(options.db);
  const app = await buildConsole(options);
  try {
    await app.listen({ host, port });
  } catch (cause) {
    await app.close();
    throw new ConsoleListenError(host, port, cause);
  }
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}/`;
  options.logger?.info({ event: 'ui.listening', url, role }, `console on ${url} (reading as ${role})`);
  return { url, role, close: () => app.close() };
}

/**
 * The console's HTTP application: security headers on every response, authentication when
 * configured, read-only routes (GET, and the CSRF-protected POST of the member search).
 */
export async function buildConsole(options: ConsoleOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024, trustProxy: false });
  const ctx: ConsoleContext = {
    db: options.db,
    viewSchema: options.viewSchema ?? 'fhir',
    schedules: options.schedules ?? new Map<string, string | undefined>(),
    handles: memberHandles(),
  };
  app.decorateRequest('viewer', 'loopback');
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    // Plain HTTP on loopback: HSTS belongs to the TLS proxy in front, if any.
    strictTransportSecurity: false,
  });
  app.addHook('onSend', async (_request, reply) => {
    // Member data must not be kept by the browser or any cache on the way.
    reply.header('cache-control', 'no-store');
  });
  const auth = options.auth;
  if (auth) {
    app.addHook('onRequest', async (request, reply) => {
      const viewer = authenticate(request.headers.authorization, auth);
      if (viewer === null) {
        return reply
          .code(401)
          .header('www-authenticate', challenge(auth))
          .type('text/plain')
          .send('authentication required\n');
      }
      request.viewer = viewer;
    });
  }
  await app.register(fastifyCookie, { secret: randomBytes(32).toString('base64url') });
  await app.register(fastifyCsrf, {
    cookieOpts: { signed: true, httpOnly: true, sameSite: 'strict', path: '/' },
  });
  await app.register(fastifyFormbody);
  await registerAssets(app);
  registerPipelineRoutes(app, ctx);
  registerMemberRoutes(app, ctx);
  registerAnalyticsRoutes(app, ctx);
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .type('text/html; charset=utf-8')
      .send(
        page({
          title: 'Not found',
          section: 'pipeline',
          viewer: request.viewer,
          body: html`<h1>Not found</h1>
            <p><a href="/">Back to the pipeline</a></p>`,
        }).text,
      ),
  );
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500)
      options.logger?.error(
        { event: 'ui.error', err: error, route: request.routeOptions.url },
        'console page failed',
      );
    const message =
      error.code === 'FST_CSRF_INVALID_TOKEN' || error.code === 'FST_CSRF_MISSING_SECRET'
        ? html`The form expired or did not come from this console. <a href="/members">Search again</a>.`
        : status === 500
          ? html`This page failed; the console's log says why.`
          : html`${error.message}`;
    return reply
      .code(status)
      .type('text/html; charset=utf-8')
      .send(
        page({
          title: 'Error',
          section: 'pipeline',
          viewer: request.viewer,
          body: html`<h1>${status === 403 ? 'Refused' : 'Error'}</h1>
            <p>${message}</p>`,
        }).text,
      );
  });
  return app;
}
