import { randomUUID } from 'node:crypto';
import type { SandboxContext } from '../context.ts';
import { memberIndexOf } from '../data/members.ts';
import { type FhirResource, SHARED_TYPES } from '../data/resource.ts';
import { instant } from '../data/time.ts';
import type { ExportRequest } from './kick-off.ts';

/**
 * An export job: what was asked, the data step it reads (the one current at kick-off), its
 * files once counted, and the poll and download history the faults key on.
 * @see Bulk Data STU2 export.html#response---complete-status
 */
export interface ExportJob {
  id: string;
  request: string;
  params: ExportRequest;
  /** Which members the export covers. */
  inScope: (index: number) => boolean;
  transactionTime: number;
  step: number;
  files: ExportFile[];
  counted: boolean;
  progress: number;
  polls: number;
  readyPolls: number;
  /** Bumped on every manifest served: its file URLs carry it. */
  generation: number;
  /** Per file name, the newest generation whose URLs are expired. */
  expired: Map<string, number>;
  /** Faults already spent, as `fault:file`, so each fires exactly once per job or file. */
  spent: Set<string>;
  cancelled: boolean;
  /**
   * A member's record as this export serves it (latest: the dataset's). The Payer-to-Payer API
   * serves its own view: non-financial EOBs, security labels, sensitive data withheld.
   */
  recordOf?: (index: number, step: number) => FhirResource[];
  /** Who may download its files (default: system tokens); a member-scoped export lets its member. */
  tokenKinds?: ReadonlyArray<'system' | 'member'>;
}

export interface ExportFile {
  name: string;
  kind: 'output' | 'deleted';
  type: string;
  part: number;
  count: number;
}

/** Members per output file: bigger exports get several files per type. */
export const PATIENTS_PER_FILE = 5000;
/** Members counted per turn of the event loop while a job is prepared. */
const COUNT_BATCH = 250;

export function createJob(
  context: SandboxContext,
  request: ExportRequest,
  url: string,
  inScope: (index: number) => boolean,
  view: Pick<ExportJob, 'recordOf' | 'tokenKinds'> = {},
): ExportJob {
  const job: ExportJob = {
    id: randomUUID(),
    request: url,
    params: request,
    inScope,
    transactionTime: context.dataset.tick(),
    step: context.dataset.step(),
    files: [],
    counted: false,
    progress: 0,
    polls: 0,
    readyPolls: 0,
    generation: 0,
    expired: new Map(),
    spent: new Set(),
    cancelled: false,
    ...view,
  };
  context.jobs.set(job.id, job);
  void countFiles(context, job);
  return job;
}

/** Whether a resource belongs in a job's output: its type, `_since` and `_typeFilter`. */
export function selected(job: ExportJob, resource: FhirResource): boolean {
  const { types, since, filters } = job.params;
  if (!types.includes(resource.resourceType)) return false;
  if (since !== undefined && !(Date.parse(resource.meta.lastUpdated) > since)) return false;
  const matchers = filters.get(resource.resourceType);
  return !matchers || matchers.some((matches) => matches(resource));
}

/** The resources of one output file, generated member by member. */
export function* fileResources(
  context: SandboxContext,
  job: ExportJob,
  file: ExportFile,
): Generator<FhirResource> {
  if (SHARED_TYPES.has(file.type)) {
    for (const resource of context.dataset.shared())
      if (resource.resourceType === file.type && selected(job, resource)) yield resource;
    return;
  }
  const end = Math.min(context.dataset.patients, (file.part + 1) * PATIENTS_PER_FILE);
  for (let index = file.part * PATIENTS_PER_FILE; index < end; index++) {
    if (!job.inScope(index)) continue;
    for (const resource of recordOf(context, job, index)) {
      if (resource.resourceType === file.type && selected(job, resource)) yield resource;
    }
  }
}

/**
 * The deleted file: one transaction Bundle per resource deleted after `_since`, with
 * request.method DELETE and request.url Type/id.
 * @see Bulk Data STU2 export.html#response---complete-status (deleted)
 */
export function* deletedBundles(context: SandboxContext, job: ExportJob): Generator<unknown> {
  if (job.params.since === undefined) return;
  for (let index = 0; index < context.dataset.patients; index++) {
    if (!job.inScope(index)) continue;
    for (const deleted of context.dataset.deletedOf(index, job.params.since, job.step)) {
      if (!job.params.types.includes(deleted.type)) continue;
      yield {
        resourceType: 'Bundle',
        id: `deleted-${deleted.id}`,
        meta: { lastUpdated: instant(deleted.at) },
        type: 'transaction',
        entry: [{ request: { method: 'DELETE', url: `${deleted.type}/${deleted.id}` } }],
      };
    }
  }
}

function recordOf(context: SandboxContext, job: ExportJob, index: number): FhirResource[] {
  return job.recordOf ? job.recordOf(index, job.step) : context.dataset.resourcesOf(index, job.step);
}

/** Counts every file's resources in batches, so a 100k-member export never blocks the server. */
async function countFiles(context: SandboxContext, job: ExportJob): Promise<void> {
  const counts = new Map<string, ExportFile>();
  const add = (type: string, part: number) => {
    const name = `${type}-${part}.ndjson`;
    const file = counts.get(name) ?? { name, kind: 'output', type, part, count: 0 };
    file.count += 1;
    counts.set(name, file);
  };
  for (const resource of context.dataset.shared()) if (selected(job, resource)) add(resource.resourceType, 0);
  let deleted = 0;
  for (let index = 0; index < context.dataset.patients; index++) {
    if (job.cancelled) return;
    if (index % COUNT_BATCH === 0 && index > 0) {
      job.progress = index;
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (!job.inScope(index)) continue;
    const part = Math.floor(index / PATIENTS_PER_FILE);
    for (const resource of recordOf(context, job, index))
      if (selected(job, resource)) add(resource.resourceType, part);
    if (job.params.since !== undefined) {
      deleted += context.dataset
        .deletedOf(index, job.params.since, job.step)
        .filter((d) => job.params.types.includes(d.type)).length;
    }
  }
  const order = job.params.types;
  job.files = [...counts.values()].sort(
    (a, b) => order.indexOf(a.type) - order.indexOf(b.type) || a.part - b.part,
  );
  if (deleted > 0)
    job.files.push({ name: 'deleted-0.ndjson', kind: 'deleted', type: 'Bundle', part: 0, count: deleted });
  job.progress = context.dataset.patients;
  job.counted = true;
}

/** The complete-status manifest, with file URLs of a fresh generation. */
export function manifest(context: SandboxContext, job: ExportJob) {
  job.generation += 1;
  const url = (file: ExportFile) =>
    `${context.urls.fileOriginUrl}/bulk-files/${job.id}/${job.generation}/${file.name}`;
  const entry = (file: ExportFile) => ({ type: file.type, url: url(file), count: file.count });
  return {
    transactionTime: instant(job.transactionTime),
    request: job.request,
    requiresAccessToken: context.options.requiresAccessToken,
    output: job.files.filter((f) => f.kind === 'output').map(entry),
    deleted: job.files.filter((f) => f.kind === 'deleted').map(entry),
    error: [],
  };
}

/** Which member a patient reference or id names, for `patient=` on POST kick-off. */
export function patientIndex(id: string): number | undefined {
  return id.startsWith('pt-') ? memberIndexOf(id) : undefined;
}
