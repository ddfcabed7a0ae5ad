import { createHash, randomBytes } from 'node:crypto';
import { get, type IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { DEFAULT_CLIENTS, type Sandbox } from '../../sandbox/index.ts';
import { eventually } from './eventually.ts';

/** Small HTTP steps against a running sandbox, with Node's fetch and nothing mocked. */

export function postForm(url: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
  });
}

/** A Provider Access token: client_credentials with the default provider client's secret. */
export async function providerToken(sandbox: Sandbox): Promise<string> {
  const response = await postForm(sandbox.tokenUrl, {
    grant_type: 'client_credentials',
    client_id: DEFAULT_CLIENTS.provider.clientId,
    client_secret: DEFAULT_CLIENTS.provider.clientSecret,
    scope: 'bulk-data|user/*.rs',
  });
  if (response.status !== 200)
    throw new Error(`token request failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { access_token: string }).access_token;
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export const REDIRECT_URI = DEFAULT_CLIENTS.payer.redirectUris[0];

/** Runs the authorize step for a member (login_hint skips the page) and returns the code. */
export async function authorize(
  sandbox: Sandbox,
  memberId: string,
  challenge: string,
  scope = 'launch/patient openid offline_access patient/*.rs',
): Promise<string> {
  const url = new URL(sandbox.authorizeUrl);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: DEFAULT_CLIENTS.payer.clientId,
    redirect_uri: REDIRECT_URI,
    scope,
    state: 'state-123',
    aud: sandbox.payerBaseUrl,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    login_hint: memberId,
  }).toString();
  const response = await fetch(url, { redirect: 'manual' });
  const location = new URL(response.headers.get('location') ?? 'http://invalid/');
  const code = location.searchParams.get('code');
  if (response.status !== 302 || !code)
    throw new Error(`authorize failed: ${response.status} ${location.href}`);
  return code;
}

export function exchangeCode(sandbox: Sandbox, code: string, verifier: string) {
  return postForm(sandbox.tokenUrl, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
    client_id: DEFAULT_CLIENTS.payer.clientId,
    client_secret: DEFAULT_CLIENTS.payer.clientSecret,
  });
}

export interface MemberTokens {
  access_token: string;
  refresh_token?: string;
  patient: string;
  expires_in: number;
  scope: string;
}

/** The whole member authorization: authorize with PKCE, then exchange the code. */
export async function memberToken(sandbox: Sandbox, memberId: string): Promise<MemberTokens> {
  const { verifier, challenge } = pkce();
  const response = await exchangeCode(sandbox, await authorize(sandbox, memberId, challenge), verifier);
  if (response.status !== 200)
    throw new Error(`code exchange failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as MemberTokens;
}

export interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: Array<{ type: string; url: string; count: number }>;
  deleted: Array<{ type: string; url: string; count: number }>;
  error: unknown[];
}

/** Kicks off and polls (no waiting: tests set retryAfterSeconds 0) until the manifest is ready. */
export async function exportManifest(
  sandbox: Sandbox,
  token: string,
  path: string,
  init: RequestInit = {},
): Promise<Manifest> {
  const kickOff = await fetch(`${sandbox.providerBaseUrl}/${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${token}`,
      prefer: 'respond-async',
      accept: 'application/fhir+json',
      ...(init.headers ?? {}),
    },
  });
  if (kickOff.status !== 202) throw new Error(`kick-off failed: ${kickOff.status} ${await kickOff.text()}`);
  const status = kickOff.headers.get('content-location')!;
  // No deadline of its own (the test's timeout bounds it): a busy machine finishes it later.
  let manifest: Manifest | undefined;
  await eventually(async () => {
    const response = await fetch(status, { headers: { authorization: `Bearer ${token}` } });
    if (response.status === 200) manifest = (await response.json()) as Manifest;
    else if (response.status !== 202)
      throw new Error(`status poll failed: ${response.status} ${await response.text()}`);
    return manifest !== undefined;
  });
  return manifest as Manifest;
}

/**
 * A GET that leaves the body as sent (fetch would silently gunzip it), for checking
 * Content-Encoding and truncated gzip.
 */
export function rawGet(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    const request = get(url, { headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }),
      );
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

/** Downloads a file and returns its lines, gunzipping what the server gzipped. */
export async function downloadLines(url: string, token?: string, gzip = false): Promise<string[]> {
  const response = await rawGet(url, {
    ...(token ? { authorization: `Bearer ${token}` } : {}),
    ...(gzip ? { 'accept-encoding': 'gzip' } : {}),
  });
  if (response.status !== 200)
    throw new Error(`download failed: ${response.status} ${response.body.toString()}`);
  if (gzip !== (response.headers['content-encoding'] === 'gzip'))
    throw new Error('unexpected Content-Encoding');
  const text = gzip ? gunzipSync(response.body).toString('utf8') : response.body.toString('utf8');
  return text.split('\n').filter((line) => line !== '');
}
