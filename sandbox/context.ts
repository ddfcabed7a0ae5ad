import type { Dataset } from './data/dataset.ts';
import type { ExportJob } from './bulk/jobs.ts';
import type { TokenStore } from './oauth/tokens.ts';
import type { FaultSettings, ResolvedOptions, SandboxClient } from './options.ts';

/** The addresses the sandbox answers on; known once it listens. */
export interface SandboxUrls {
  url: string;
  providerBaseUrl: string;
  payerBaseUrl: string;
  tokenUrl: string;
  authorizeUrl: string;
  fileOriginUrl: string;
}

export interface RequestRecord {
  method: string;
  url: string;
  origin: string;
  authorization?: string;
  status: number;
}

/** The state every route reads: options, data, tokens, export jobs, logs. */
export interface SandboxContext {
  options: ResolvedOptions;
  faults: FaultSettings;
  urls: SandboxUrls;
  dataset: Dataset;
  tokens: TokenStore;
  clients: Map<string, SandboxClient>;
  jobs: Map<string, ExportJob>;
  posted: Array<{ memberId: string; resource: unknown }>;
  requests: RequestRecord[];
}

export const PROVIDER_BASE = '/provider/r4';
export const PAYER_BASE = '/payer/r4';
export const TOKEN_PATH = '/oauth2/token';
export const AUTHORIZE_PATH = '/oauth2/authorize';
export const FILES_PATH = '/bulk-files';
