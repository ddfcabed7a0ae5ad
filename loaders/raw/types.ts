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
    counts: {},
    viewCounts: {},
  };
}
