import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * An async request handler as node:http's listener, which ignores the promise: a handler that
 * fails destroys its response with the error (the client sees the connection fail, and so the
 * test) instead of leaving an unhandled rejection.
 */
export function asyncListener(
  handler: (request: IncomingMessage, response: ServerResponse) => Promise<void>,
): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    handler(request, response).catch((error: unknown) =>
      response.destroy(error instanceof Error ? error : new Error(String(error))),
    );
  };
}
