import type { LoadTransaction } from '../postgres/load-transaction.ts';
import type { StagedCopy } from './safety-net.ts';
import type { FileToLoad, RejectRecord, ResourceRecord, TargetCounts } from './types.ts';

/** What the staged merge into fhir_raw did for one resource type of the file. */
export interface MergedType {
  /** Resources of this type that went through the staging table (repeats included). */
  resources: number;
  inserted: number;
  /** Stored rows replaced, including rows this same file had copied directly (a repeated id). */
  updated: number;
  /** The file held some id of this type more than once. */
  repeated: boolean;
}

/**
 * Tables a file's resources fill beside fhir_raw, inside the file's transaction, by the same
 * two paths (see load-file.ts): the view tables. A resource added with `direct` is one the
 * loader copies straight into fhir_raw because its id is new there: its rows go straight into
 * the target's tables too, in the same savepoint (`TargetBatch.copyDirect`). The others are
 * staged in batches as resources stream by and, once fhir_raw is merged, replace the rows of
 * exactly the resources that changed (listed in the temporary table fhir_etl_changed
 * (resource_type, id, seq)).
 */
export interface LoadTarget {
  begin(tx: LoadTransaction): Promise<void>;
  /** Takes what the resource yields (direct or staged); returns a reject when it cannot be evaluated. */
  add(record: ResourceRecord, seq: number, direct?: boolean): RejectRecord | undefined;
  /** True when enough is pending to be worth a flush. */
  readonly full: boolean;
  /** Detaches the pending rows, synchronously, to be sent while the next batch is read. */
  take(): TargetBatch;
  /**
   * Replaces the rows of the resources the staged merge changed; returns the rows written per
   * table and the values recorded as not fitting their column (fhir_etl.value_errors).
   */
  finish(
    tx: LoadTransaction,
    file: FileToLoad,
    merged: Record<string, MergedType>,
  ): Promise<{ rows: TargetCounts; valueErrors: number }>;
}

/** The rows a target had pending when the loader cut a batch. */
export interface TargetBatch {
  /** Copies the direct rows of one resource type into the target's tables (inside the loader's savepoint). */
  copyDirect(tx: LoadTransaction, file: FileToLoad, resourceType: string): Promise<void>;
  /** The savepoint of `copyDirect` was released: its rows count as written. */
  landed(resourceType: string): void;
  /** The direct copy of that type was rolled back: its rows are staged instead. */
  demote(resourceType: string): void;
  /**
   * The COPYs of the staged rows into the staging tables (created here when needed), for the
   * loader to send with its own (see safety-net.ts).
   */
  stagedCopies(tx: LoadTransaction): Promise<StagedCopy[]>;
}
