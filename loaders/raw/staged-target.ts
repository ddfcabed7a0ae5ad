import type { Transaction } from '@databases/pg';
import type { FileToLoad, RejectRecord, ResourceRecord } from './load-file.ts';

/** What the merge into fhir_raw did for one resource type of the file. */
export interface MergedType {
  /** Resources of this type in the file (repeats included). */
  resources: number;
  inserted: number;
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
 */
export interface StagedTarget {
  begin(tx: Transaction): Promise<void>;
  /** Stages what the resource yields; returns a reject when it cannot be evaluated. */
  add(record: ResourceRecord, seq: number): RejectRecord | undefined;
  /** True when enough is staged to be worth a flush. */
  readonly full: boolean;
  flush(tx: Transaction): Promise<void>;
  finish(tx: Transaction, file: FileToLoad, merged: Record<string, MergedType>): Promise<TargetCounts>;
}
