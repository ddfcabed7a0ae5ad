import type { AcceptedLine, RejectedLine } from '../../transforms/index.ts';

/** A resource read from a file, ready to land (its `text` is stored as is in fhir_raw). */
export type ResourceRecord = AcceptedLine;

/** A line or resource that could not be loaded; it goes to fhir_etl.rejects. */
export type RejectRecord = RejectedLine;

export interface FileToLoad {
  source: string;
  /** Identifies the file across runs: a committed key is never loaded twice. */
  fileKey: string;
  /** Shown in rejects and messages. */
  path: string;
  runId: number;
  /**
   * The file's identity across downloads, when it may come again under another fileKey (a Bulk
   * file of a new export): its rejects are keyed by it, so loading it again replaces them.
   */
  rejectKey?: string;
}

export interface TypeCounts {
  resources: number;
  inserted: number;
  updated: number;
}

/** Rows written per table by a target, e.g. { patient: 50, eob_item: 812 }. */
export type TargetCounts = Record<string, number>;

export interface FileLoadResult {
  status: 'loaded' | 'already-loaded';
  lines: number;
  bytes: number;
  resources: number;
  rejects: number;
  /** Values written NULL because their view column could not hold them (fhir_etl.value_errors); absent: none. */
  valueErrors?: number;
  counts: Record<string, TypeCounts>;
  viewCounts: TargetCounts;
}

/** The result of a file an earlier load committed: nothing was read. */
export function alreadyLoadedResult(): FileLoadResult {
  return {
    status: 'already-loaded',
    lines: 0,
    bytes: 0,
    resources: 0,
    rejects: 0,
    valueErrors: 0,
    counts: {},
    viewCounts: {},
  };
}
