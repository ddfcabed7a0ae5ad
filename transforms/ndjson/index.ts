export { NdjsonReadError } from './errors.ts';
export { INSTANT_PATTERN } from './instant.ts';
export {
  type AcceptedLine,
  type ParsedLine,
  checkParsedResource,
  parseResourceLine,
  type RejectedLine,
} from './parse-line.ts';
export { type LineReaderOptions, readLines } from './read-lines.ts';
export { R4_RESOURCE_TYPES } from './resource-types.ts';
