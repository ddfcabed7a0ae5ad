import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AuthorizationCallbackError } from './authorization-code-errors.ts';
import { isLoopback } from './token-endpoint.ts';

/**
 * The one-shot listener on the registered loopback redirect URI: it receives the member's
 * browser once, hands the callback URL to `handle` (which exchanges the code at once), shows
 * the member the outcome, and closes. Other paths (a favicon) get 404 and are ignored.
 * @see RFC 8252 section 7.3 (loopback interface redirection)
 */
export interface AuthorizationCallbackListener<T> {
  /** What `handle` returned for the callback, or why it failed. */
  result: Promise<T>;
  /** Stops listening (on a timeout or Ctrl-C); a pending result rejects. */
  close(reason?: Error): void;
}

export async function listenForAuthorizationCallback<T>(
  redirectUri: string,
  handle: (callbackUrl: URL) => Promise<T>,
): Promise<AuthorizationCallbackListener<T>> {
  const redirect = new URL(redirectUri);
  if (!isLoopback(redirect) || redirect.protocol !== 'http:') {
    throw new AuthorizationCallbackError(
      'only an http://localhost, 127.0.0.1 or [::1] redirect URI can be listened on here; ' +
        'use --paste and enter the URL the browser was redirected to',
      { redirectUri },
    );
  }
  let settle!: { resolve: (value: T) => void; reject: (error: unknown) => void };
  const result = new Promise<T>((resolve, reject) => (settle = { resolve, reject }));
  result.catch(() => undefined); // the caller awaits it; never an unhandled rejection meanwhile
  let received = false;
  const servers: Server[] = [];
  const closeAll = () => servers.forEach((server) => server.close());

  const onRequest = (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', redirect);
    if (url.pathname !== redirect.pathname || received) {
      response
        .writeHead(received ? 410 : 404, { 'content-type': 'text/plain' })
        .end(received ? 'done' : 'not found');
      return;
    }
    received = true;
    handle(url).then(
      (value) => {
        respond(response, 200, 'Logged in. You can close this window and return to fhir-etl.');
        closeAll();
        settle.resolve(value);
      },
      (error: unknown) => {
        respond(response, 400, `The login failed: ${error instanceof Error ? error.message : String(error)}`);
        closeAll();
        settle.reject(error);
      },
    );
  };

  const failures: unknown[] = [];
  for (const host of listenHosts(redirect)) {
    const server = createServer(onRequest);
    await listen(server, host, Number(redirect.port || 80)).then(
      () => servers.push(server),
      (cause: unknown) => failures.push(cause),
    );
  }
  if (servers.length === 0) {
    const cause = failures[0];
    throw new AuthorizationCallbackError(
      `cannot listen on ${redirect.host}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { redirectUri },
      cause,
    );
  }
  return {
    result,
    close(reason) {
      closeAll();
      if (!received)
        settle.reject(reason ?? new AuthorizationCallbackError('stopped waiting', { redirectUri }));
    },
  };
}

/** `localhost` may resolve to either loopback address: listen on both (IPv6 when the host has it). */
function listenHosts(redirect: URL): string[] {
  if (redirect.hostname === 'localhost') return ['127.0.0.1', '::1'];
  return [redirect.hostname.replace(/^\[|\]$/g, '')];
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function respond(response: ServerResponse, status: number, message: string): void {
  const text = message.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  response
    .writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
    .end(`<!doctype html><title>fhir-etl login</title><p>${text}</p>`);
}
