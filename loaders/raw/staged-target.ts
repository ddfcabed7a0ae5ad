import type { Transaction } from '@databases/pg';
import type { FileToLoad, RejectRecord, ResourceRecord } from './load-file.ts';

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

/** Rows written per table by a target, e.g. { patient: 50, eob_item: 812 }. */
export type TargetCounts = Record<string, number>;

/**
 * Something else a file's resources fill inside the file's transaction, beside fhir_raw:
 * the view tables. It stages rows in batches as resources stream by, then, once fhir_raw is
 * merged, replaces the rows of exactly the resources that changed (listed in the temporary
 * table fhir_etl_changed (resource_type, id, seq)).
 *
 * A resource added with `direct` is one the loader copies straight into fhir_raw because its
 * id is new there (see load-file.ts): its rows can go straight into the target's tables too,
 * in the same savepoint, through `take()`.
 */
export interface StagedTarget {
  begin(tx: Transaction): Promise<void>;
  /** Stages what the resource yields; returns a reject when it cannot be evaluated. */
  add(record: ResourceRecord, seq: number, direct?: boolean): RejectRecord | undefined;
  /** True when enough is staged to be worth a flush. */
  readonly full: boolean;
  /** Detaches the pending rows, synchronously, to be sent while the next batch is read. */
  take(): TargetBatch;
  finish(tx: Transaction, file: FileToLoad, merged: Record<string, MergedType>): Promise<TargetCounts>;
}

/** The rows a target had pending when the loader cut a batch. */
export interface TargetBatch {
  /** Copies the direct rows of one resource type into the target's tables (inside the loader's savepoint). */
  copyDirect(tx: Transaction, file: FileToLoad, resourceType: string): Promise<void>;
  /** The savepoint of `copyDirect` was released: its rows count as written. */
  landed(resourceType: string): void;
  /** The direct copy of that type was rolled back: its rows are staged instead. */
  demote(resourceType: string): void;
  /** Copies the staged rows into the staging tables. */
  copyStaged(tx: Transaction): Promise<void>;
}
