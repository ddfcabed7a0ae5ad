import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ConnectionPool, sql } from '@databases/pg';
import { errorMessage, FhirEtlError } from '../../errors/index.ts';
import type { Logger } from '../logger.ts';
import { warehouseMetrics } from './warehouse-metrics.ts';

export interface MetricsServer {
  /** Where it listens, e.g. http://127.0.0.1:9464 (the port chosen when 0 was asked for). */
  url: string;
  close(): Promise<void>;
}

export class MetricsServerError extends FhirEtlError {
  constructor(host: string, port: number, cause: unknown) {
    super(`cannot serve metrics on ${host}:${port}: ${errorMessage(cause)}`, {
      code: 'METRICS_LISTEN',
      context: { host, port },
      cause,
    });
  }
}

/**
 * Serves `GET /metrics` (Prometheus text, read from the warehouse at each scrape) and
 * `GET /healthz` (200 when the warehouse answers, 503 when it does not). Bound to 127.0.0.1
 * unless told otherwise: the metrics name sources and tables, which not everyone should see.
 */
export async function serveMetrics(
  db: ConnectionPool,
  options: { host: string; port: number; logger: Logger },
): Promise<MetricsServer> {
  const registry = warehouseMetrics(db);
  const routes: Record<string, (response: ServerResponse) => Promise<void>> = {
    '/metrics': async (response) => {
      const text = await registry.metrics();
      response.writeHead(200, { 'content-type': registry.contentType }).end(text);
    },
    '/healthz': async (response) => {
      await db.query(sql`SELECT 1`);
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    },
  };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const route =
      request.method === 'GET' ? routes[new URL(request.url ?? '/', 'http://x').pathname] : undefined;
    if (!route) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics or /healthz\n');
      return;
    }
    route(response).catch((error: unknown) => {
      // Unreachable warehouse: Prometheus records the failed scrape (up == 0) and alerts on it.
      options.logger.warn(
        { event: 'metrics.unavailable', error: errorMessage(error) },
        'warehouse unreachable',
      );
      response
        .writeHead(503, { 'content-type': 'text/plain' })
        .end(`warehouse unreachable: ${errorMessage(error)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (cause) => reject(new MetricsServerError(options.host, options.port, cause)));
    server.listen(options.port, options.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  options.logger.info({ event: 'metrics.listening', url, port }, `metrics on ${url}/metrics`);
  return {
    url,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
