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
