import type { ConnectionPool } from '@databases/pg';
import type { RestSourceConfig } from '../../config/index.ts';
import {
  authorizationCodeClient,
  type AuthorizationCodeClient,
  authorizationCodeGrantRequest,
  type AuthorizationRequest,
  buildAuthorizationRequest,
  listenForAuthorizationCallback,
  type MemberTokens,
  processAuthorizationCallback,
  processAuthorizationCodeResponse,
  resolveAuthorizationEndpoints,
} from '../../connectors/auth/index.ts';
import type { HttpClient } from '../../connectors/http/index.ts';
import { saveLogin } from './credential-store.ts';
import { readMemberId } from './member-id.ts';
import type { SecretKey } from './secret-key.ts';

/**
 * `fhir-etl auth login SOURCE`: one member authorizes this client (SMART standalone launch),
 * and their tokens are sealed into the credential store. Each login adds or renews one member.
 * @see SMART App Launch 2.2.0 app-launch.html#step-2-launch-standalone
 */
export interface LoginOptions {
  http: HttpClient;
  key: SecretKey;
  /** `login_hint`: who is logging in (1up's sandbox skips its member picker with it). */
  loginHint?: string;
  /** Sends the member to the authorize URL: opens the browser, or prints the URL. */
  presentAuthorizationUrl(url: URL): Promise<void>;
  /**
   * For a redirect URI this machine cannot listen on (a production https page): asks the user
   * for the URL the browser was redirected to. Without it, a loopback listener receives it.
   */
  readRedirectedUrl?: () => Promise<string>;
  /** Stop waiting for the browser after this long (default 10 minutes). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface LoginResult {
  patientId: string;
  /** The member id (the Patient's member identifier, else the login hint). */
  memberId?: string;
  /** Why the member id is not known, when it is not. */
  memberIdProblem?: string;
  expiresAt?: number;
  hasRefreshToken: boolean;
  scope?: string;
}

export async function loginMember(
  db: ConnectionPool,
  source: RestSourceConfig,
  options: LoginOptions,
): Promise<LoginResult> {
  const client = await loginClient(source, options.http);
  const request = await buildAuthorizationRequest(client, { loginHint: options.loginHint });
  const tokens = options.readRedirectedUrl
    ? await pastedLogin(client, request, options)
    : await listenedLogin(client, request, options);
  // Who logged in, by member id: the member may have picked themselves on the server's page
  // (no login hint), so the Patient the token names is asked.
  const read = await readMemberId(options.http, {
    baseUrl: source.baseUrl,
    patientId: tokens.patient,
    accessToken: tokens.accessToken,
  });
  const memberId = 'memberId' in read ? read.memberId : options.loginHint;
  await saveLogin(db, options.key, { source: source.name, patientId: tokens.patient, memberId }, tokens);
  return {
    patientId: tokens.patient,
    ...(memberId === undefined ? {} : { memberId }),
    ...('problem' in read && memberId === undefined ? { memberIdProblem: read.problem } : {}),
    ...(tokens.expiresAt === undefined ? {} : { expiresAt: tokens.expiresAt }),
    hasRefreshToken: tokens.refreshToken !== undefined,
    ...(tokens.scope === undefined ? {} : { scope: tokens.scope }),
  };
}

/** The source's OAuth client, with its endpoints from config or SMART discovery. */
export async function loginClient(
  source: RestSourceConfig,
  http: HttpClient,
): Promise<AuthorizationCodeClient> {
  const endpoints = await resolveAuthorizationEndpoints(
    { authorizeUrl: source.auth.authorizeUrl, tokenUrl: source.auth.tokenUrl },
    source.baseUrl,
    http,
  );
  return authorizationCodeClient(source.auth, endpoints, source.baseUrl, http);
}

/** The browser comes back to our loopback listener, which exchanges the code at once (codes live minutes). */
async function listenedLogin(
  client: AuthorizationCodeClient,
  request: AuthorizationRequest,
  options: LoginOptions,
): Promise<MemberTokens> {
  const listener = await listenForAuthorizationCallback(client.redirectUri, (callbackUrl) =>
    exchange(client, request, callbackUrl),
  );
  const timeoutMs = options.timeoutMs ?? 10 * 60_000;
  const timer = setTimeout(
    () => listener.close(new Error(`no login arrived at ${client.redirectUri} within ${timeoutMs / 1000} s`)),
    timeoutMs,
  );
  const onAbort = () => listener.close(new Error('login cancelled'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await options.presentAuthorizationUrl(request.url);
    return await listener.result;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    listener.close();
  }
}

/** The user copies the URL the browser was redirected to and enters it. */
async function pastedLogin(
  client: AuthorizationCodeClient,
  request: AuthorizationRequest,
  options: LoginOptions,
): Promise<MemberTokens> {
  await options.presentAuthorizationUrl(request.url);
  const typed = (await options.readRedirectedUrl!()).trim();
  return exchange(client, request, new URL(typed, client.redirectUri));
}

async function exchange(
  client: AuthorizationCodeClient,
  request: AuthorizationRequest,
  callbackUrl: URL,
): Promise<MemberTokens> {
  const parameters = processAuthorizationCallback(client, request, callbackUrl);
  const response = await authorizationCodeGrantRequest(client, request, parameters);
  return processAuthorizationCodeResponse(client, response);
}
