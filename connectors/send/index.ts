/** The send side: resources POSTed for one member (conditional creates when they can be), with a ledger against duplicates. */
export { contentHash } from './content-hash.ts';
export {
  type CreateOutcome,
  CreateNotConfirmedError,
  createRequest,
  identifierCondition,
  processCreateResponse,
} from './conditional-create.ts';
export { SendInputError } from './errors.ts';
export {
  type PatientReference,
  patientReferences,
  type Refusal,
  refusal,
  type SendMember,
} from './patient-references.ts';
export { readSendableResources, type SendableResource } from './read-resources.ts';
export {
  type LedgerKey,
  type LedgerState,
  type SendLedger,
  type SendOptions,
  type SendOutcome,
  sendResources,
} from './send-resources.ts';
