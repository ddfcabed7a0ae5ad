/**
 * The sandbox's configuration: who may call it, how much data it holds, and which faults it
 * injects. The programmatic contract other code is written against lives here and in index.ts.
 */
import type { JsonWebKey } from 'node:crypto';
import { UnknownFaultError } from './errors.ts';

/** A registered OAuth client. */
export interface SandboxClient {
  clientId: string;
  /** client_secret_post and client_secret_basic are both accepted. */
  clientSecret?: string;
  /** SMART Backend Services private_key_jwt (RS384, ES384): the client's public keys. */
  jwks?: { keys: JsonWebKey[] };
  grantTypes: Array<'client_credentials' | 'authorization_code' | 'refresh_token'>;
  /** Exact match, localhost included. */
  redirectUris?: string[];
}

/** The faults the sandbox can inject, by the names the `--faults` list uses. */
export const FAULT_NAMES = [
  '429',
  '500',
  '410',
  'token-expiry',
  'slow',
  'malformed',
  'truncated-gzip',
  'bad-values',
] as const;
export type FaultName = (typeof FAULT_NAMES)[number];
/** Which faults are on; a missing name is off. See docs/sandbox.md for what each one does. */
export type FaultSettings = Partial<Record<FaultName, boolean>>;

export interface SandboxOptions {
  /** 0 or undefined = a free port; always binds 127.0.0.1 only. */
  port?: number;
  /** Default 20 (the 4 named 1up test members are always included). */
  patients?: number;
  /** Default 1; same seed => byte-identical data. */
  seed?: number;
  /** A `--faults` list such as "429,500,410,token-expiry,slow,malformed,truncated-gzip", or settings. */
  faults?: string | FaultSettings;
  /** Registered in addition to DEFAULT_CLIENTS. */
  clients?: SandboxClient[];
  /** 'separate': bulk output files are served by a second listener on another port (a "CDN" origin). */
  fileOrigin?: 'same' | 'separate';
  /** The manifest's requiresAccessToken flag; default true. */
  requiresAccessToken?: boolean;
  /** 202 status polls before the manifest is ready (default 1). */
  pollsBeforeReady?: number;
  /** Retry-After on 202 polls, in seconds (default 1; tests set 0). */
  retryAfterSeconds?: number;
  /** Access token lifetimes in seconds: defaults 300 and 7200. */
  accessTokenSeconds?: { clientCredentials?: number; authorizationCode?: number };
  /** Default _count for searches (default 50). */
  pageSize?: number;
  /** The server clock in epoch milliseconds (default Date.now); tests move it to expire codes and tokens. */
  now?: () => number;
}

/** SandboxOptions with every default filled in. */
export interface ResolvedOptions {
  port: number;
  patients: number;
  seed: number;
  faults: FaultSettings;
  clients: SandboxClient[];
  fileOrigin: 'same' | 'separate';
  requiresAccessToken: boolean;
  pollsBeforeReady: number;
  retryAfterSeconds: number;
  accessTokenSeconds: { clientCredentials: number; authorizationCode: number };
  pageSize: number;
  now: () => number;
}

/** The clients every sandbox knows, whatever else is registered. */
export const DEFAULT_CLIENTS = {
  provider: { clientId: 'provider-client', clientSecret: 'provider-secret' },
  payer: {
    clientId: 'payer-client',
    clientSecret: 'payer-secret',
    redirectUris: ['http://localhost:8976/callback', 'http://127.0.0.1:8976/callback'],
  },
} as const satisfies {
  provider: { clientId: 'provider-client'; clientSecret: 'provider-secret' };
  payer: {
    clientId: 'payer-client';
    clientSecret: 'payer-secret';
    redirectUris: ['http://localhost:8976/callback', 'http://127.0.0.1:8976/callback'];
  };
};

export function resolveOptions(options: SandboxOptions = {}): ResolvedOptions {
  return {
    port: options.port ?? 0,
    patients: Math.max(4, options.patients ?? 20),
    seed: options.seed ?? 1,
    faults: parseFaults(options.faults ?? {}),
    clients: [...defaultClients(), ...(options.clients ?? [])],
    fileOrigin: options.fileOrigin ?? 'same',
    requiresAccessToken: options.requiresAccessToken ?? true,
    pollsBeforeReady: options.pollsBeforeReady ?? 1,
    retryAfterSeconds: options.retryAfterSeconds ?? 1,
    accessTokenSeconds: {
      clientCredentials: options.accessTokenSeconds?.clientCredentials ?? 300,
      authorizationCode: options.accessTokenSeconds?.authorizationCode ?? 7200,
    },
    pageSize: options.pageSize ?? 50,
    now: options.now ?? Date.now,
  };
}

function defaultClients(): SandboxClient[] {
  return [
    { ...DEFAULT_CLIENTS.provider, grantTypes: ['client_credentials'] },
    {
      ...DEFAULT_CLIENTS.payer,
      redirectUris: [...DEFAULT_CLIENTS.payer.redirectUris],
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
    },
  ];
}

/** Parses a `--faults` list ("429,slow") or copies settings; an unknown name is refused. */
export function parseFaults(faults: string | FaultSettings): FaultSettings {
  if (typeof faults !== 'string') return { ...faults };
  const settings: FaultSettings = {};
  for (const name of faults
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!(FAULT_NAMES as readonly string[]).includes(name)) {
      throw new UnknownFaultError(name);
    }
    settings[name as FaultName] = true;
  }
  return settings;
}
