import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { recordMemberView } from '../queries/audit.ts';
import { memberRawResources } from '../queries/member-raw.ts';
import { memberName, memberRecord } from '../queries/member-record.ts';
import { type MemberSearch, searchMembers } from '../queries/member-search.ts';
import { page } from '../templates/layout.ts';
import { memberRawPage } from '../templates/member-raw.ts';
import { memberPage } from '../templates/member.ts';
import { membersPage } from '../templates/members.ts';
import { html } from '../templates/html.ts';
import type { ConsoleContext } from './context.ts';
import { shownValue } from '../../errors/shown-value.ts';

const BIRTH_DATE = /^\d{4}-\d{2}-\d{2}$/;

export function registerMemberRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/members', async (request, reply) => {
    const body = membersPage({ csrfToken: reply.generateCsrf() });
    return sendPage(reply, request, 'Members', body);
  });

  // The only POST: a search, which reads. CSRF-protected; its terms never enter a URL.
  app.post<{ Body: { q?: unknown; birth_date?: unknown } }>(
    '/members/search',
    // eslint-disable-next-line @typescript-eslint/unbound-method -- fastify calls a route's hooks with its instance as `this`, as @fastify/csrf-protection documents
    { preHandler: app.csrfProtection },
    async (request, reply) => {
      const search: MemberSearch = {
        text: typeof request.body?.q === 'string' ? request.body.q.slice(0, 200) : '',
        birthDate:
          typeof request.body?.birth_date === 'string' && BIRTH_DATE.test(request.body.birth_date)
            ? request.body.birth_date
            : '',
      };
      const matches =
        search.text.trim() || search.birthDate ? await searchMembers(ctx.db, ctx.viewSchema, search) : [];
      const body = membersPage({
        csrfToken: reply.generateCsrf(),
        search,
        matches: matches.map((m) => ({
          ...m,
          handle: ctx.handles.seal({ source: m.source, patientId: m.id }),
        })),
      });
      return sendPage(reply, request, 'Members', body);
    },
  );

  app.get<{ Params: { handle: string } }>('/members/:handle', async (request, reply) => {
    const key = ctx.handles.open(request.params.handle);
    const record = key ? await memberRecord(ctx.db, ctx.viewSchema, key) : null;
    if (!key || !record) return memberGone(reply, request);
    await recordMemberView(ctx.db, { viewer: request.viewer, client: request.ip, key, view: 'record' });
    const name = shownValue(record.patient.full_name ?? key.patientId);
    return sendPage(reply, request, name, memberPage(record, request.params.handle));
  });

  app.get<{ Params: { handle: string } }>('/members/:handle/raw', async (request, reply) => {
    const key = ctx.handles.open(request.params.handle);
    const sections = key ? await memberRawResources(ctx.db, ctx.viewSchema, key) : [];
    const patient = sections[0]?.resources[0];
    if (!key || !patient) return memberGone(reply, request);
    await recordMemberView(ctx.db, { viewer: request.viewer, client: request.ip, key, view: 'raw' });
    const name = (await memberName(ctx.db, ctx.viewSchema, key)) ?? key.patientId;
    const body = memberRawPage({ key, name, handle: request.params.handle, sections });
    return sendPage(reply, request, `${name} (raw FHIR)`, body);
  });
}

function sendPage(
  reply: FastifyReply,
  request: FastifyRequest,
  title: string,
  body: ReturnType<typeof membersPage>,
) {
  return reply
    .type('text/html; charset=utf-8')
    .send(page({ title, section: 'members', body, viewer: request.viewer }).text);
}

/** A handle from another console process (or a member no longer loaded): search again. */
function memberGone(reply: FastifyReply, request: FastifyRequest) {
  return reply
    .code(404)
    .type('text/html; charset=utf-8')
    .send(
      page({
        title: 'Member not found',
        section: 'members',
        viewer: request.viewer,
        body: html`<h1>Member not found</h1>
          <p>
            This link is from an earlier console session or the member is no longer loaded.
            <a href="/members">Search again</a>.
          </p>`,
      }).text,
    );
}
