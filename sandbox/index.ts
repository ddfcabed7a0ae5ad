/**
 * The sandbox: a local server that behaves like 1upHealth's Provider Access (Bulk Data) and
 * Payer-to-Payer APIs, with a deterministic synthetic data generator. See docs/sandbox.md.
 */
export { startSandbox, type Sandbox } from './server.ts';
export {
  DEFAULT_CLIENTS,
  FAULT_NAMES,
  parseFaults,
  type FaultName,
  type FaultSettings,
  type SandboxClient,
  type SandboxOptions,
} from './options.ts';
export {
  generateMembers,
  generateSharedResources,
  writeNdjson,
  type GenerateOptions,
  type GeneratedMember,
} from './data/generate.ts';
export { TEST_MEMBERS, type MemberSummary } from './data/members.ts';
export type { FhirResource } from './data/resource.ts';
export { MALFORMED_LINE } from './bulk/files.ts';
export {
  AuthorizePageError,
  FhirRequestError,
  OAuthError,
  SandboxStartError,
  UnknownFaultError,
} from './errors.ts';
