import type { FastifyInstance, FastifyReply } from 'fastify';
import { AUTHORIZE_PATH, type SandboxContext } from '../context.ts';
import { memberIndexById, TEST_MEMBERS } from '../data/members.ts';
import { AuthorizePageError } from '../errors.ts';
import type { SandboxClient } from '../options.ts';

/**
 * GET /oauth2/authorize: the member picks who they are (one of 1up's four Payer-to-Payer test
 * members) and is redirected back with a code. `login_hint=<member id>` skips the page.
 * Before client and redirect_uri are verified, errors are a 400 page; after, they are redirected.
 * @see RFC 6749 sections 4.1.1, 4.1.2, 4.1.2.1; RFC 7636 section 4.3; SMART App Launch 2.2.0 app-launch.html#step-4
 */
export function registerAuthorizeEndpoint(app: FastifyInstance, context: SandboxContext): void {
  app.get(AUTHORIZE_PATH, async (request, reply) => {
    const query = request.query as Record<string, string | undefined>;
    const client = context.clients.get(query.client_id ?? '');
    if (!client) throw new AuthorizePageError(`unknown client_id ${query.client_id ?? '(none)'}`);
    const redirectUri = query.redirect_uri;
    if (!redirectUri || !(client.redirectUris ?? []).includes(redirectUri)) {
      throw new AuthorizePageError(
        `redirect_uri ${redirectUri ?? '(none)'} is not registered for ${client.clientId}`,
      );
    }
    const refusal = requestProblem(query, client);
    if (refusal)
      return redirect(reply, redirectUri, {
        error: refusal[0],
        error_description: refusal[1],
        state: query.state,
      });
    if (query.login_hint === undefined) return memberPage(reply, query);
    const index = memberIndexById(query.login_hint, context.options.patients);
    if (index === undefined) {
      return redirect(reply, redirectUri, {
        error: 'access_denied',
        error_description: `unknown member ${query.login_hint}`,
        state: query.state,
      });
    }
    const member = context.dataset.members()[index]!;
    const code = context.tokens.issueCode({
      clientId: client.clientId,
      redirectUri,
      codeChallenge: query.code_challenge!,
      grant: {
        kind: 'member',
        clientId: client.clientId,
        scope: query.scope ?? '',
        patientIndex: index,
        patientId: member.patientId,
        memberId: member.memberId,
      },
    });
    return redirect(reply, redirectUri, { code, state: query.state });
  });
}

/** The first problem of a request whose redirect_uri is trusted, as [error, description]. */
function requestProblem(
  query: Record<string, string | undefined>,
  client: SandboxClient,
): [string, string] | undefined {
  if (query.response_type !== 'code') return ['unsupported_response_type', 'response_type must be code'];
  if (!client.grantTypes.includes('authorization_code')) {
    return ['unauthorized_client', `client ${client.clientId} may not use the authorization code grant`];
  }
  if (!query.code_challenge) return ['invalid_request', 'code_challenge is required (PKCE)'];
  if (query.code_challenge_method !== 'S256')
    return ['invalid_request', 'code_challenge_method must be S256'];
  return undefined;
}

function redirect(reply: FastifyReply, redirectUri: string, params: Record<string, string | undefined>) {
  const target = new URL(redirectUri);
  for (const [key, value] of Object.entries(params))
    if (value !== undefined) target.searchParams.set(key, value);
  return reply.redirect(target.toString(), 302);
}

/** A page listing the test members; each choice re-sends the request with login_hint. */
function memberPage(reply: FastifyReply, query: Record<string, string | undefined>) {
  const hidden = Object.entries(query)
    .filter(([key, value]) => key !== 'login_hint' && value !== undefined)
    .map(([key, value]) => `<input type="hidden" name="${escape(key)}" value="${escape(value!)}">`)
    .join('');
  const choices = TEST_MEMBERS.map(
    (m) =>
      `<li><button name="login_hint" value="${escape(m.memberId)}">${escape(`${m.given} ${m.family}`)}</button>` +
      ` born ${m.birthDate}, member ID ${escape(m.memberId)}, postal code ${m.postalCode}</li>`,
  ).join('');
  return reply
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(
      `<!doctype html><html><head><title>fhir-etl sandbox: sign in</title></head><body>` +
        `<h1>Sign in as a test member</h1><form method="get" action="${AUTHORIZE_PATH}">${hidden}<ul>${choices}</ul></form>` +
        `</body></html>`,
    );
}

export function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
