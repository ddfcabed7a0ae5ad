import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { ConnectionPool } from '@databases/pg';
import pino, { type Logger } from 'pino';
import { configSchema, type LoadedConfig } from '../../config/index.ts';
import type { SourceRunResult } from '../../pipeline/run-recorder.ts';
import type { BulkSourceConfig } from '../../config/index.ts';
import { prepareLoad } from '../../pipeline/ingest.ts';
import type { ProgressReporter } from '../../pipeline/progress.ts';
import { runSources } from '../../pipeline/run.ts';
import { runBulkSource } from '../../pipeline/sources/bulk.ts';
import type { RunRequest } from '../../pipeline/sources/index.ts';
import { configuredViews } from '../../pipeline/views.ts';
import { asyncListener } from './async-listener.ts';

/**
 * A tiny Bulk Data server on 127.0.0.1 for the protocol cases the sandbox does not produce
 * (paged manifests, STU4 `outcome`, epoch Retry-After, 405, foreign file hosts). Each route
 * answers from a queue of scripted responses (the last one repeats), and every request is
 * logged with its Authorization header, so tests can assert what reached which origin.
 */
export interface ScriptedResponse {
  status: number;
  headers?: Record<string, string>;
  json?: unknown;
  body?: string | Buffer;
  /** Gzip the body and say so in Content-Encoding. */
  gzip?: boolean;
  /** Send only the first half of the (gzipped) body, then end: a cut-off download. */
  truncate?: boolean;
}

export interface LoggedRequest {
  method: string;
  path: string;
  authorization?: string;
  body: string;
}

export interface BulkServer {
  url: string;
  requests: LoggedRequest[];
  /** Scripts `METHOD path` (path without the query string). */
  route(
    method: string,
    path: string,
    ...responses: Array<
      ScriptedResponse | ((req: LoggedRequest) => ScriptedResponse | Promise<ScriptedResponse>)
    >
  ): void;
  close: () => Promise<void>;
}

export async function startBulkServer(): Promise<BulkServer> {
  const routes = new Map<
    string,
    Array<ScriptedResponse | ((req: LoggedRequest) => ScriptedResponse | Promise<ScriptedResponse>)>
  >();
  const requests: LoggedRequest[] = [];
  const server: Server = createServer(
    asyncListener(async (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const path = (req.url ?? '/').split('?')[0] as string;
      const logged: LoggedRequest = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(logged);
      const queue = routes.get(`${req.method} ${path}`);
      const next = queue && (queue.length > 1 ? queue.shift() : queue[0]);
      // A function may take its time (the test stops a server first): the answer waits for it.
      const scripted = typeof next === 'function' ? await next(logged) : next;
      send(res, scripted ?? { status: 404, json: outcome('not-found', `no route ${req.method} ${path}`) });
    }),
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    route(method, path, ...responses) {
      routes.set(`${method} ${path}`, responses);
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, r: ScriptedResponse): void {
  const headers: Record<string, string> = { ...r.headers };
  let body: Buffer | undefined;
  if (r.json !== undefined) {
    body = Buffer.from(JSON.stringify(r.json));
    headers['content-type'] ??= 'application/json';
  } else if (r.body !== undefined) {
    body = Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body);
  }
  if (body && r.gzip) {
    body = gzipSync(body);
    headers['content-encoding'] = 'gzip';
  }
  if (body && r.truncate) body = body.subarray(0, Math.floor(body.length / 2));
  res.writeHead(r.status, headers);
  res.end(body);
}

/** An OperationOutcome with one issue. */
export function outcome(code: string, diagnostics: string, severity = 'error') {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics }] };
}

/** NDJSON of `count` resources of a type, ids `<prefix>1..n`. */
export function ndjson(
  resourceType: string,
  count: number,
  prefix = resourceType.toLowerCase(),
  lastUpdated = '2026-01-01T00:00:00Z',
): string {
  let text = '';
  for (let i = 1; i <= count; i++) {
    const resource: Record<string, unknown> = { resourceType, id: `${prefix}${i}`, meta: { lastUpdated } };
    if (resourceType === 'Patient')
      Object.assign(resource, { gender: i % 2 ? 'female' : 'male', birthDate: '1980-01-01' });
    text += `${JSON.stringify(resource)}\n`;
  }
  return text;
}

/** A `deleted` file: one transaction Bundle of DELETE entries. */
export function deletedBundle(references: string[]): string {
  const entry = references.map((url) => ({ request: { method: 'DELETE', url } }));
  return `${JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry })}\n`;
}

/** Log lines a run wrote, for assertions on what it told the operator. */
export interface CapturedLogger {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
}

export function captureLogger(): CapturedLogger {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

/** A clock for export.timeoutMinutes: `now` reads it, and each wait between polls advances it. */
export interface FakeClock {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  advance(ms: number): void;
}

export function fakeClock(start = Date.now()): FakeClock {
  let time = start;
  return {
    now: () => time,
    sleep: async (ms) => {
      time += ms;
    },
    advance(ms) {
      time += ms;
    },
  };
}

/**
 * Runs one bulk source (given as its config entry) the way `fhir-etl run` does, into the test
 * warehouse with the shipped views. With a clock, the source's connector is called directly
 * (as `run` would, without the source lock) so the export is timed by that clock.
 */
export function runBulk(
  db: ConnectionPool,
  source: Record<string, unknown>,
  options: BulkRunOptions = {},
): Promise<SourceRunResult> {
  return serially(db, () => runBulkNow(db, source, options));
}

/**
 * Runs on one test warehouse go one at a time, as `fhir-etl run` runs sources: each run holds
 * a connection for its source lock for its whole length, and the test pool (6) is sized for
 * one run, so a file's tests started at once would wait on each other's connections.
 */
const queues = new WeakMap<ConnectionPool, Promise<unknown>>();

function serially<T>(db: ConnectionPool, work: () => Promise<T>): Promise<T> {
  const run = (queues.get(db) ?? Promise.resolve()).then(work, work);
  queues.set(
    db,
    run.catch(() => undefined),
  );
  return run;
}

export interface BulkRunOptions {
  request?: RunRequest;
  logger?: Logger;
  signal?: AbortSignal;
  clock?: FakeClock;
  progress?: ProgressReporter;
}

async function runBulkNow(
  db: ConnectionPool,
  source: Record<string, unknown>,
  options: BulkRunOptions,
): Promise<SourceRunResult> {
  const config: LoadedConfig = {
    ...configSchema.parse({ sources: [{ name: 'bulk', kind: 'bulk', ...source }] }),
    file: undefined,
  };
  if (options.clock) {
    const load = await prepareLoad(db, {
      views: await configuredViews(config.views),
      viewSchema: config.warehouse.schema,
    });
    const ctx = {
      load,
      config,
      logger: options.logger ?? pino({ level: 'silent' }),
      request: options.request ?? {},
      signal: options.signal,
      progress: options.progress,
    };
    const { now, sleep } = options.clock;
    return runBulkSource(ctx, config.sources[0] as BulkSourceConfig, { now, sleep });
  }
  const [result] = await runSources(db, config, {
    request: options.request ?? {},
    logger: options.logger ?? pino({ level: 'silent' }),
    signal: options.signal,
    progress: options.progress,
  });
  return result as SourceRunResult;
}
