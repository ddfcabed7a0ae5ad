import { randomBytes } from 'node:crypto';

/**
 * Everything the authorization server remembers: access tokens, authorization codes, refresh
 * tokens (which rotate) and the jti of every client assertion it has accepted.
 */

/** What a token lets its holder do. */
export type Grant =
  | { kind: 'system'; clientId: string; scope: string }
  | {
      kind: 'member';
      clientId: string;
      scope: string;
      patientIndex: number;
      patientId: string;
      memberId: string;
    }
  | {
      kind: 'send';
      clientId: string;
      scope: string;
      patientIndex: number;
      patientId: string;
      memberId: string;
    };

export type MemberGrant = Extract<Grant, { kind: 'member' }>;

export interface AccessToken {
  token: string;
  grant: Grant;
  expiresAt: number;
}

export interface AuthorizationCode {
  code: string;
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  grant: MemberGrant;
  expiresAt: number;
}

export interface TokenStore {
  issueAccess(grant: Grant, seconds: number): AccessToken;
  /** The live token, or undefined when unknown, expired or revoked. */
  access(token: string): AccessToken | undefined;
  revoke(token: string): void;
  issueCode(code: Omit<AuthorizationCode, 'code' | 'expiresAt'>): string;
  /** Removes and returns a code: a code works once, whatever happens next. */
  takeCode(code: string): AuthorizationCode | undefined;
  issueRefresh(grant: MemberGrant): string;
  /** Removes and returns a refresh token's grant: rotation makes every refresh token single-use. */
  takeRefresh(token: string): MemberGrant | undefined;
  /** Records a client assertion's jti; false when it was seen before. */
  useJti(clientId: string, jti: string, expiresAt: number): boolean;
}

/** Authorization codes live 5 minutes, as at 1upHealth. */
export const CODE_SECONDS = 300;

export function createTokenStore(now: () => number): TokenStore {
  const tokens = new Map<string, AccessToken>();
  const codes = new Map<string, AuthorizationCode>();
  const refreshTokens = new Map<string, MemberGrant>();
  const jtis = new Map<string, number>();
  return {
    issueAccess(grant, seconds) {
      const token = { token: opaque(), grant, expiresAt: now() + seconds * 1000 };
      tokens.set(token.token, token);
      return token;
    },
    access(token) {
      const found = tokens.get(token);
      if (!found) return undefined;
      if (found.expiresAt <= now()) {
        tokens.delete(token);
        return undefined;
      }
      return found;
    },
    revoke: (token) => void tokens.delete(token),
    issueCode(code) {
      const value = opaque();
      codes.set(value, { ...code, code: value, expiresAt: now() + CODE_SECONDS * 1000 });
      return value;
    },
    takeCode(code) {
      const found = codes.get(code);
      codes.delete(code);
      return found;
    },
    issueRefresh(grant) {
      const value = opaque();
      refreshTokens.set(value, grant);
      return value;
    },
    takeRefresh(token) {
      const found = refreshTokens.get(token);
      refreshTokens.delete(token);
      return found;
    },
    useJti(clientId, jti, expiresAt) {
      const key = `${clientId}\u0000${jti}`;
      for (const [seen, until] of jtis) if (until < now()) jtis.delete(seen);
      if (jtis.has(key)) return false;
      jtis.set(key, expiresAt);
      return true;
    },
  };
}

function opaque(): string {
  return randomBytes(24).toString('base64url');
}
