import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { memberIndexById } from '../data/members.ts';
import { OAuthError } from '../errors.ts';
import { type SandboxContext, TOKEN_PATH } from '../context.ts';
import type { SandboxClient } from '../options.ts';
import { authenticateClient } from './client-auth.ts';
import type { AccessToken, Grant, MemberGrant } from './tokens.ts';

/**
 * POST /oauth2/token: client_credentials (a system token, or with `patient` and `patient/X.c`
 * scopes a member-scoped send token), authorization_code with PKCE S256, and refresh_token with
 * rotation. Answers carry `Cache-Control: no-store`; errors are RFC 6749 JSON.
 * @see RFC 6749 sections 4.1.3, 4.4, 5.1, 5.2, 6; RFC 7636 section 4.6; SMART App Launch 2.2.0 app-launch.html
 */
export function registerTokenEndpoint(app: FastifyInstance, context: SandboxContext): void {
  app.post(TOKEN_PATH, async (request, reply) => {
    const form = formOf(request.body);
    const client = await authenticateClient(form, request.headers.authorization, {
      clients: context.clients,
      tokens: context.tokens,
      tokenUrl: context.urls.tokenUrl,
      now: context.options.now,
    });
    const grantType = form.grant_type;
    if (grantType === undefined) throw new OAuthError('invalid_request', 'grant_type is required');
    if (!(client.grantTypes as string[]).includes(grantType)) {
      throw new OAuthError(
        'unauthorized_client',
        `client ${client.clientId} may not use grant_type ${grantType}`,
      );
    }
    switch (grantType) {
      case 'client_credentials':
        return tokenResponse(reply, clientCredentials(form, client, context), context.options.now);
      case 'authorization_code':
        return tokenResponse(reply, authorizationCode(form, client, context), context.options.now);
      case 'refresh_token':
        return tokenResponse(reply, refresh(form, client, context), context.options.now);
      default:
        throw new OAuthError('unsupported_grant_type', `grant_type ${grantType} is not supported`);
    }
  });
}

/** A token request's answer before it is written: the token, and for members a refresh token. */
export interface Issued {
  access: AccessToken;
  refreshToken?: string;
}

export function tokenResponse(reply: FastifyReply, issued: Issued, now: () => number) {
  const { access, refreshToken } = issued;
  const seconds = Math.round((access.expiresAt - now()) / 1000);
  const grant = access.grant;
  return reply
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .send({
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: Math.max(0, seconds),
      scope: grant.scope,
      ...(grant.kind === 'system' ? {} : { patient: grant.patientId }),
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
    });
}

/**
 * The opaque 1up-style scope (`bulk-data|user/*.rs`) is echoed verbatim. With a `patient` form
 * parameter and only `patient/<Type|*>.c` scopes, the token is the member-scoped send token.
 * @see RFC 6749 section 4.4; SMART App Launch 2.2.0 backend-services.html
 */
function clientCredentials(
  form: Record<string, string | undefined>,
  client: SandboxClient,
  context: SandboxContext,
): Issued {
  const scope = form.scope ?? '';
  const { options, tokens } = context;
  if (form.patient === undefined) {
    return {
      access: tokens.issueAccess(
        { kind: 'system', clientId: client.clientId, scope },
        options.accessTokenSeconds.clientCredentials,
      ),
    };
  }
  const scopes = scope.split(/\s+/).filter(Boolean);
  if (scopes.length === 0 || !scopes.every((s) => /^patient\/(\*|[A-Z][A-Za-z]+)\.c$/.test(s))) {
    throw new OAuthError('invalid_scope', 'a send token needs only patient/<Type>.c or patient/*.c scopes');
  }
  if (client.clientSecret === undefined) {
    throw new OAuthError('unauthorized_client', 'send tokens are issued to clients with a client secret');
  }
  const index = memberIndexById(form.patient, options.patients);
  if (index === undefined) throw new OAuthError('invalid_request', `unknown member ${form.patient}`);
  const member = context.dataset.members()[index]!;
  const grant: Grant = {
    kind: 'send',
    clientId: client.clientId,
    scope,
    patientIndex: index,
    patientId: member.patientId,
    memberId: member.memberId,
  };
  return { access: tokens.issueAccess(grant, options.accessTokenSeconds.authorizationCode) };
}

/**
 * Exchanges a code once: the redirect_uri must equal the authorize request's and the
 * code_verifier must hash (S256) to its code_challenge.
 * @see RFC 6749 section 4.1.3; RFC 7636 section 4.6
 */
function authorizationCode(
  form: Record<string, string | undefined>,
  client: SandboxClient,
  context: SandboxContext,
): Issued {
  const code = form.code ? context.tokens.takeCode(form.code) : undefined;
  if (!code) throw new OAuthError('invalid_grant', 'the authorization code is unknown or was already used');
  if (code.expiresAt <= context.options.now())
    throw new OAuthError('invalid_grant', 'the authorization code expired');
  if (code.clientId !== client.clientId)
    throw new OAuthError('invalid_grant', 'the code was issued to another client');
  if (form.redirect_uri !== code.redirectUri) {
    throw new OAuthError('invalid_grant', 'redirect_uri does not match the authorization request');
  }
  if (!form.code_verifier || s256(form.code_verifier) !== code.codeChallenge) {
    throw new OAuthError('invalid_grant', 'code_verifier does not match the code_challenge');
  }
  return memberTokens(code.grant, context);
}

/**
 * Refresh tokens rotate: the one presented stops working and a new one is returned; presenting a
 * rotated token again is invalid_grant. A narrower scope may be asked for, never a wider one.
 * @see RFC 6749 section 6; SMART App Launch 2.2.0 app-launch.html#step-7-refresh-access-token
 */
function refresh(
  form: Record<string, string | undefined>,
  client: SandboxClient,
  context: SandboxContext,
): Issued {
  const grant = form.refresh_token ? context.tokens.takeRefresh(form.refresh_token) : undefined;
  if (!grant)
    throw new OAuthError('invalid_grant', 'the refresh token is unknown, revoked or was already rotated');
  if (grant.clientId !== client.clientId)
    throw new OAuthError('invalid_grant', 'the refresh token belongs to another client');
  let scope = grant.scope;
  if (form.scope !== undefined) {
    const granted = new Set(grant.scope.split(/\s+/));
    const asked = form.scope.split(/\s+/).filter(Boolean);
    if (!asked.every((s) => granted.has(s)))
      throw new OAuthError('invalid_scope', 'scope exceeds the original grant');
    scope = asked.join(' ');
  }
  return memberTokens(grant, context, scope);
}

function memberTokens(grant: MemberGrant, context: SandboxContext, scope = grant.scope): Issued {
  const access = context.tokens.issueAccess(
    { ...grant, scope },
    context.options.accessTokenSeconds.authorizationCode,
  );
  const offline = grant.scope.split(/\s+/).includes('offline_access');
  return { access, ...(offline ? { refreshToken: context.tokens.issueRefresh(grant) } : {}) };
}

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

function formOf(body: unknown): Record<string, string | undefined> {
  if (body === null || typeof body !== 'object') {
    throw new OAuthError('invalid_request', 'the token request must be application/x-www-form-urlencoded');
  }
  const form: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(body)) {
    if (Array.isArray(value)) throw new OAuthError('invalid_request', `parameter ${key} is repeated`);
    form[key] = typeof value === 'string' ? value : undefined;
  }
  return form;
}
