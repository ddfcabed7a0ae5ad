import type { FastifyInstance } from 'fastify';
import { membersNeedingLogin, recentBulkIssues, recentRuns, sourceHealth } from '../queries/pipeline.ts';
import { runDetail } from '../queries/run.ts';
import { page } from '../templates/layout.ts';
import { pipelinePage } from '../templates/pipeline.ts';
import { runPage } from '../templates/run.ts';
import type { ConsoleContext } from './context.ts';

export function registerPipelineRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/', async (request, reply) => {
    const [sources, runs, needingLogin, bulkIssues] = await Promise.all([
      sourceHealth(ctx.db),
      recentRuns(ctx.db),
      membersNeedingLogin(ctx.db),
      recentBulkIssues(ctx.db),
    ]);
    const body = pipelinePage({ sources, runs, needingLogin, bulkIssues, schedules: ctx.schedules });
    return reply
      .type('text/html; charset=utf-8')
      .send(
        page({ title: 'Pipeline', section: 'pipeline', body, charts: true, viewer: request.viewer }).text,
      );
  });

  app.get<{ Params: { id: string } }>('/runs/:id', async (request, reply) => {
    const id = /^\d{1,18}$/.test(request.params.id) ? Number(request.params.id) : Number.NaN;
    const detail = Number.isSafeInteger(id) ? await runDetail(ctx.db, id) : null;
    if (!detail) return reply.callNotFound();
    return reply
      .type('text/html; charset=utf-8')
      .send(
        page({ title: `Run #${id}`, section: 'pipeline', body: runPage(detail), viewer: request.viewer })
          .text,
      );
  });
}
