/** The send side: resources POSTed for one member as conditional creates, with a ledger against duplicates. */
export { contentHash } from './content-hash.ts';
export {
  type CreateOutcome,
  createRequest,
  identifierCondition,
  processCreateResponse,
} from './conditional-create.ts';
export { SendInputError } from './errors.ts';
export { readSendableResources, type SendableResource } from './read-resources.ts';
export {
  type LedgerKey,
  type SendLedger,
  type SendOptions,
  type SendOutcome,
  sendResources,
} from './send-resources.ts';
