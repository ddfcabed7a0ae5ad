import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import pino, { type Logger } from 'pino';

/** A request as the server saw it: method, path with query, headers (lower-case names), body text. */
export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. `/Patient?_count=10`. */
  url: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * One scripted answer. A plain reply (status, headers, a text/Buffer `body` or a `json` value,
 * optionally gzip-encoded); `reset` drops the connection without answering (a network error);
 * `hang` never answers (a headers timeout); a function decides from the request.
 */
export type Reply =
  | {
      status?: number;
      headers?: Record<string, string>;
      body?: string | Buffer;
      json?: unknown;
      gzip?: boolean;
    }
  | { reset: true }
  | { hang: true }
  | ((request: RecordedRequest) => Reply | Promise<Reply>);

export interface TestHttpServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  url(path: string): string;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  requestsTo(path: string): RecordedRequest[];
  /**
   * Answers `method path` (query ignored) with the replies in turn; the last one repeats.
   * A later `route` for the same method and path replaces the script.
   */
  route(method: string, path: string, ...replies: Reply[]): void;
  /** Resolves with the next request to arrive. */
  nextRequest(): Promise<RecordedRequest>;
  close: () => Promise<void>;
}

/**
 * A real node:http server on 127.0.0.1 with scripted routes and a request log, for testing HTTP
 * clients end to end (sockets, gzip, redirects) without stubbing fetch. Unscripted paths
 * answer 404 with an OperationOutcome.
 */
export async function startHttpServer(): Promise<TestHttpServer> {
  const scripts = new Map<string, { replies: Reply[]; next: number }>();
  const requests: RecordedRequest[] = [];
  let waiters: ((request: RecordedRequest) => void)[] = [];

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      res.destroy(error instanceof Error ? error : undefined);
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const recorded = await record(req);
    requests.push(recorded);
    const notify = waiters;
    waiters = [];
    notify.forEach((resolve) => resolve(recorded));
    const script = scripts.get(`${recorded.method} ${recorded.path}`);
    if (!script) {
      await answer(res, notFound(recorded));
      return;
    }
    const reply = script.replies[Math.min(script.next, script.replies.length - 1)] as Reply;
    script.next += 1;
    await answer(res, typeof reply === 'function' ? await reply(recorded) : reply, recorded);
  }

  async function answer(res: ServerResponse, reply: Reply, request?: RecordedRequest): Promise<void> {
    if (typeof reply === 'function') return answer(res, await reply(request as RecordedRequest), request);
    if ('reset' in reply) {
      res.socket?.destroy();
      return;
    }
    if ('hang' in reply) return;
    const headers: Record<string, string> = { ...reply.headers };
    let body: Buffer = Buffer.from(reply.body ?? '');
    if (reply.json !== undefined) {
      body = Buffer.from(JSON.stringify(reply.json));
      headers['content-type'] ??= 'application/fhir+json';
    }
    if (reply.gzip) {
      body = gzipSync(body);
      headers['content-encoding'] = 'gzip';
    }
    res.writeHead(reply.status ?? 200, { ...headers, 'content-length': String(body.length) });
    res.end(body);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    url: (path) => new URL(path, origin).href,
    requests,
    requestsTo: (path) => requests.filter((r) => r.path === path),
    route(method, path, ...replies) {
      if (replies.length === 0) throw new Error(`route ${method} ${path} needs at least one reply`);
      scripts.set(`${method.toUpperCase()} ${path}`, { replies, next: 0 });
    },
    nextRequest: () => new Promise((resolve) => waiters.push(resolve)),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function record(req: IncomingMessage): Promise<RecordedRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const url = req.url ?? '/';
  return {
    method: req.method ?? 'GET',
    url,
    path: new URL(url, 'http://test').pathname,
    headers: req.headers,
    body: Buffer.concat(chunks).toString('utf8'),
  };
}

function notFound(request: RecordedRequest): Reply {
  return {
    status: 404,
    json: {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'not-found',
          diagnostics: `no route for ${request.method} ${request.path}`,
        },
      ],
    },
  };
}

/** A FHIR OperationOutcome with one issue, as servers send with errors. */
export function operationOutcome(code: string, diagnostics: string): unknown {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] };
}

/** An injected sleep that records each wait and returns at once: retry tests stay instant. */
/**
 * A headers deadline (createHttpClient's `headersDeadline`) that passes the moment the server
 * has received the request, for the first `expiring` requests, and never for later ones: a
 * `hang` reply times out at once and the retry gets all the time it needs, on any machine.
 */
export function deadlineOnArrival(
  server: TestHttpServer,
  expiring = 1,
): (ms: number, signal: AbortSignal) => Promise<void> {
  let started = 0;
  return (_ms, signal) =>
    new Promise<void>((resolve, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      if (started++ < expiring) void server.nextRequest().then(() => resolve());
    });
}

export function recordingSleep(): { waits: number[]; sleep: (ms: number) => Promise<void> } {
  const waits: number[] = [];
  return {
    waits,
    sleep: async (ms: number) => {
      waits.push(ms);
    },
  };
}

/** A pino logger whose lines land in an array, to assert what was (and was not) logged. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}
