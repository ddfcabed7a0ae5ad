export { NoReaderUrlError, ReaderRoleError } from './errors.ts';
export {
  ensureReadAccess,
  grantRead,
  keepReadersGranted,
  type ReadAccess,
  READER_SCHEMAS,
  viewSchemasOf,
} from './grant-read.ts';
