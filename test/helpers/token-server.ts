import type { IncomingHttpHeaders } from 'node:http';
import { type Reply, type RecordedRequest, startHttpServer, type TestHttpServer } from './http-server.ts';

/** A token request as the server decoded it: the form, and the Basic credentials if any. */
export interface TokenRequest {
  form: URLSearchParams;
  /** Decoded per RFC 6749 section 2.3.1 (base64, then form-urldecode each half). */
  basic?: { clientId: string; clientSecret: string };
  headers: IncomingHttpHeaders;
}

export interface TokenServerOptions {
  /** expires_in of every token issued (seconds); omitted from the response when null. */
  expiresIn?: number | null;
  /**
   * Decides each request: true issues a token, a Reply answers instead (an OAuth error, a 503).
   * Default: every request gets a token.
   */
  decide?: (request: TokenRequest) => true | Reply | Promise<true | Reply>;
}

export interface TokenServer {
  http: TestHttpServer;
  tokenUrl: string;
  /** Every token request received, decoded. */
  requests: TokenRequest[];
  /** Tokens issued so far; the n-th is `token-n`. */
  issued(): number;
  close: () => Promise<void>;
}

/**
 * A real OAuth token endpoint on 127.0.0.1 (`POST /token`): issues `token-1`, `token-2`, ...
 * as bearer tokens, records each request decoded, and lets a test refuse or fail requests.
 */
export async function startTokenServer(options: TokenServerOptions = {}): Promise<TokenServer> {
  const http = await startHttpServer();
  const requests: TokenRequest[] = [];
  let issued = 0;
  http.route('POST', '/token', async (recorded: RecordedRequest): Promise<Reply> => {
    const request = decodeTokenRequest(recorded);
    requests.push(request);
    const decision = options.decide ? await options.decide(request) : true;
    if (decision !== true) return decision;
    issued += 1;
    const expiresIn = options.expiresIn === undefined ? 300 : options.expiresIn;
    return {
      status: 200,
      headers: { 'cache-control': 'no-store', 'content-type': 'application/json' },
      body: JSON.stringify({
        access_token: `token-${issued}`,
        token_type: 'bearer',
        ...(expiresIn === null ? {} : { expires_in: expiresIn }),
        scope: request.form.get('scope') ?? undefined,
      }),
    };
  });
  return { http, tokenUrl: http.url('/token'), requests, issued: () => issued, close: http.close };
}

/** An OAuth error response. @see RFC 6749 section 5.2 */
export function oauthError(status: number, error: string, description: string): Reply {
  return {
    status,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ error, error_description: description }),
  };
}

function decodeTokenRequest(recorded: RecordedRequest): TokenRequest {
  const authorization = recorded.headers.authorization;
  let basic: TokenRequest['basic'];
  if (authorization?.startsWith('Basic ')) {
    const decoded = Buffer.from(authorization.slice('Basic '.length), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    basic = {
      clientId: formDecode(decoded.slice(0, colon)),
      clientSecret: formDecode(decoded.slice(colon + 1)),
    };
  }
  return { form: new URLSearchParams(recorded.body), basic, headers: recorded.headers };
}

function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}
