import { FhirEtlError } from '../errors/index.ts';

/** The warehouse could not be reached, started or prepared. */
export class WarehouseError extends FhirEtlError {
  constructor(message: string, context: Record<string, unknown>, cause?: unknown) {
    super(message, { code: 'WAREHOUSE_UNAVAILABLE', context, cause });
  }
}

/** A migration failed to apply; nothing of it was committed. */
export class MigrationError extends FhirEtlError {
  constructor(message: string, context: Record<string, unknown>, cause?: unknown) {
    super(message, { code: 'MIGRATION_FAILED', context, cause });
  }
}

/** A file could not be loaded; its transaction was rolled back and its checkpoint not written. */
export class LoadError extends FhirEtlError {
  constructor(message: string, context: Record<string, unknown>, cause?: unknown) {
    super(message, { code: 'LOAD_FAILED', context, cause });
  }
}

/**
 * A file held more bad lines and values than the load allows (`--max-rejects`,
 * `load.maxRejects`): it was rolled back, and the run fails. Loading it again fails the same way.
 */
export class TooManyRejectsError extends LoadError {
  constructor(file: string, bad: number, limit: number, first: string | undefined) {
    super(
      `could not load ${file}: more than ${limit} rejected lines and values that did not fit their column ` +
        `(--max-rejects / load.maxRejects ${limit}; ${bad} so far${first ? `, the first: ${first}` : ''}); ` +
        'the file was rolled back',
      { file, limit, bad },
    );
  }
}

/**
 * Causes of a failed load that may not recur, so loading the file again from the start is
 * worth it: its input broke off part way (a reset or closed socket, a body cut off in
 * transit, a gzip stream that ends early), or PostgreSQL rolled the file back for another
 * transaction's sake (deadlock 40P01, serialization failure 40001). Anything else (a view's
 * SQL error, a constraint, a corrupt gzip stream) fails the same way every time.
 */
/** PostgreSQL rolled the file back for another transaction's sake: deadlock, serialization failure. */
const CONFLICT_CODES = new Set(['40P01', '40001']);

/** The input broke off part way: a download may come whole next time; a local file will not. */
const BROKEN_INPUT_CODES = new Set([
  // The body of a bulk file cut short (connectors/bulk/truncation-guard.ts), a gzip stream that
  // ends early, a stream destroyed before its end.
  'BULK_TRUNCATED_BODY',
  'Z_BUF_ERROR',
  'ERR_STREAM_PREMATURE_CLOSE',
  // The network (as connectors/http/network-error.ts): undici reports a socket closed under a
  // body as TypeError('terminated') caused by UND_ERR_SOCKET.
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * Whether a LoadError may succeed if the file is loaded again (its transaction rolled back
 * whole, so a retry starts clean): some error in its cause chain has one of the codes above (for a local file, only a
 * conflict: its bytes will be the same next time).
 * Anything not a LoadError did not come from a file's load and is not judged here.
 */
export function isRetryableLoad(error: unknown, input: 'download' | 'local file' = 'download'): boolean {
  if (!(error instanceof LoadError)) return false;
  let current: unknown = error.cause;
  for (let depth = 0; current instanceof Object && depth < 8; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (CONFLICT_CODES.has(code)) return true;
      if (input === 'download' && BROKEN_INPUT_CODES.has(code)) return true;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** A view table that must change, and the user's views that stop it (they read the columns it drops or retypes). */
export interface BlockedTable {
  table: string;
  view: string;
  changes: string[];
  dependents: Array<{ name: string; columns: string[] }>;
}

/**
 * A changed view's table cannot drop or retype columns while the user's views read them.
 * Found before anything changed; `rebuild --cascade` saves, drops and recreates those views.
 */
export class ViewDependentsError extends FhirEtlError {
  constructor(blocked: BlockedTable[]) {
    const each = blocked.map(
      (b) =>
        `${b.table} (${b.changes.join(', ')}) is read by ${b.dependents
          .map((d) =>
            d.columns.length > 0 ? `${d.name} (${d.columns.join(', ')})` : `${d.name} (over those)`,
          )
          .join(', ')}`,
    );
    const views = blocked.map((b) => b.view).join(' ');
    super(
      `view tables must change but views depend on the columns that change: ${each.join('; ')}. ` +
        `Nothing was changed. Run \`fhir-etl rebuild --view ${views} --cascade\` to save those views, ` +
        'change the tables and recreate the views in one transaction (a view that no longer fits is kept in ' +
        'fhir_etl.dropped_views and reported), or drop or change those views yourself first',
      { code: 'VIEW_DEPENDENTS_BLOCK', context: { blocked }, kind: 'input' },
    );
  }
}

/** A query that always returns a row (an aggregate, a SELECT of expressions) returned none. */
export class NoRowError extends FhirEtlError {
  constructor(context: Record<string, unknown>) {
    super('the warehouse returned no row for a query that always returns one', { code: 'NO_ROW', context });
  }
}
