import type { FastifyInstance } from 'fastify';
import { analyticsFigures } from '../queries/analytics.ts';
import { analyticsPage } from '../templates/analytics.ts';
import { page } from '../templates/layout.ts';
import type { ConsoleContext } from './context.ts';

export function registerAnalyticsRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/analytics', async (request, reply) => {
    const body = analyticsPage(await analyticsFigures(ctx.db));
    return reply
      .type('text/html; charset=utf-8')
      .send(
        page({ title: 'Analytics', section: 'analytics', body, charts: true, viewer: request.viewer }).text,
      );
  });
}
