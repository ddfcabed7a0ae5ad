import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { shippedPath } from '../../shipped/index.ts';

/**
 * The console's static files, a fixed list read once at start: our stylesheet and chart
 * script (found from the package root: the compiled code runs from dist/), and Chart.js from
 * node_modules. Nothing comes from a CDN or is fetched at run time.
 */
const chartJsDist = dirname(createRequire(import.meta.url).resolve('chart.js'));

const ASSETS: Record<string, { path: string; type: string }> = {
  'console.css': { path: shippedPath('ui', 'assets', 'console.css'), type: 'text/css; charset=utf-8' },
  'charts.js': { path: shippedPath('ui', 'assets', 'charts.js'), type: 'text/javascript; charset=utf-8' },
  'chart.umd.min.js': { path: join(chartJsDist, 'chart.umd.min.js'), type: 'text/javascript; charset=utf-8' },
};

export async function registerAssets(app: FastifyInstance): Promise<void> {
  const loaded = new Map<string, { body: Buffer; type: string }>();
  for (const [name, asset] of Object.entries(ASSETS)) {
    loaded.set(name, { body: await readFile(asset.path), type: asset.type });
  }
  // Browsers ask for it whatever the page says; there is none.
  app.get('/favicon.ico', async (_request, reply) => reply.code(204).send());
  app.get<{ Params: { name: string } }>('/assets/:name', async (request, reply) => {
    const asset = loaded.get(request.params.name);
    if (!asset) return reply.callNotFound();
    return reply.type(asset.type).send(asset.body);
  });
}
