import type { Logger } from 'pino';
import pLimit from 'p-limit';
import type { BulkSourceConfig } from '../../config/index.ts';
import {
  assertFileOrigins,
  awaitManifest,
  BulkExportExpiredError,
  BulkExportFailedError,
  BulkExportIssuesError,
  BulkExportNotFoundError,
  BulkExportTimeoutError,
  deleteExport,
  fileAuth,
  kickOff,
  type Manifest,
  redactStatusUrl,
} from '../../connectors/bulk/index.ts';
import { type BearerAuth, type HttpClient, redactUrl } from '../../connectors/http/index.ts';
import { errorMessage } from '../../errors/index.ts';
import { type FileLoadResult, type FileToLoad, WarehouseError, warehouseFault } from '../../loaders/index.ts';
import { ingestNdjson, type LoadContext } from '../ingest.ts';
import type { ProgressReporter } from '../progress.ts';
import type { RunRecorder } from '../run-recorder.ts';
import type { RunRequest } from '../sources/types.ts';
import { whyStopped } from '../stop-reason.ts';
import { type Checkpoint, type ExportCompletion, exportWatermark, readCheckpoint } from './checkpoint.ts';
import { applyDeletedFile } from './deleted-file.ts';
import { describePoll } from './poll-progress.ts';
import { warehouseStoppedExport } from './warehouse-stopped.ts';
import { downloadAndLoad } from './download-file.ts';
import { recordErrorFile } from './error-file.ts';
import {
  exportFingerprint,
  exportParameters,
  exportSince,
  exportUntil,
  parametersChanged,
} from './export-parameters.ts';
import {
  type BulkExport,
  type BulkFile,
  commitFile,
  endExport,
  findResumableExport,
  manifestFiles,
  noteExportError,
  recordKickOff,
  recordManifest,
  recordResume,
  type Settlement,
  settleExport,
} from './export-store.ts';

export interface BulkExportContext {
  source: BulkSourceConfig;
  load: LoadContext;
  client: HttpClient;
  /** The token for kick-off, status and (when the manifest requires it) files; undefined for `auth: none`. */
  auth?: BearerAuth;
  request: RunRequest;
  run: RunRecorder;
  logger: Logger;
  progress?: ProgressReporter;
  /** Graceful shutdown: stop polling and starting files; files in flight commit or roll back whole. */
  signal?: AbortSignal;
  /** Injected for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The clock export.timeoutMinutes is measured with (epoch ms); injected for tests. */
  now?: () => number;
}

export interface BulkExportOutcome {
  exportId: number;
  /** The export was started by an earlier run (found polling or downloading) and picked up. */
  resumed: boolean;
  transactionTime: string;
  /** The next export's `_since`: the transactionTime, or the `_until` the export was bounded by. */
  watermark: string;
  /** Files the manifest listed, and of those, committed by this run. */
  files: number;
  filesLoaded: number;
  /** Issues reported in the manifest's error files. */
  errorIssues: number;
}

/**
 * One Bulk Data export of a source, from kick-off (or the export an earlier run left
 * unfinished) to the checkpoint: poll the status URL, record the manifest and its files,
 * download and load every file not yet committed (several at once, each in its own
 * transaction), and advance the watermark in the transaction of the last file. When done,
 * DELETE the status URL so the server may drop the files.
 *
 * @see Bulk Data STU2 export.html
 */
export async function runBulkExport(ctx: BulkExportContext): Promise<BulkExportOutcome> {
  const fingerprint = exportFingerprint(ctx.source);
  const checkpoint = await readCheckpoint(ctx.load.db, ctx.source.name);
  const window: ExportWindow = {
    since: exportSince(ctx.request, checkpoint, fingerprint),
    until: exportUntil(ctx.request, ctx.source),
    fingerprint,
  };
  logParametersChanged(ctx, checkpoint, window);
  const resumable = await resumableExport(ctx, window);
  const job = resumable ?? (await startExport(ctx, window));
  try {
    return await exportToCheckpoint(ctx, job, checkpoint, resumable !== undefined);
  } catch (error) {
    if (!isExpired(error) || ctx.signal?.aborted) throw await stopped(ctx, job, error);
    // Once a run: a server that expires the new export too has a problem a loop would not fix.
    const renewed = await startExport(ctx, await expired(ctx, job, error));
    return exportToCheckpoint(ctx, renewed, checkpoint, false).catch(async (e: unknown) => {
      throw await stopped(ctx, renewed, e);
    });
  }
}

/**
 * One export from its status URL to the checkpoint: wait for the manifest, record it and its
 * files, load every file not yet committed, settle.
 */
async function exportToCheckpoint(
  ctx: BulkExportContext,
  job: BulkExport,
  checkpoint: Checkpoint | undefined,
  resumed: boolean,
): Promise<BulkExportOutcome> {
  const manifest = await waitForManifest(ctx, job, pollingDeadline(ctx, job));
  const files = await recordManifest(ctx.load.db, job.id, manifest);
  const loaded = await loadFiles(ctx, job, manifest, files);
  await finish(ctx, job, manifest, checkpoint);
  return {
    exportId: job.id,
    resumed,
    transactionTime: manifest.transactionTime,
    watermark: exportWatermark(manifest.transactionTime, job.until),
    files: files.length,
    filesLoaded: loaded.files,
    errorIssues: loaded.issues,
  };
}

/**
 * The server expired the export or forgot it: its status URL answers 404 or 410 (while we
 * poll, or when a 410 on a file sends us back for fresh URLs), or its files stay 410 with
 * fresh URLs. Resuming it could never finish.
 *
 * @see Bulk Data STU2 export.html#response---complete-status (files available for at least an hour... then 404/410)
 */
function isExpired(error: unknown): boolean {
  return error instanceof BulkExportExpiredError || error instanceof BulkExportNotFoundError;
}

/**
 * Ends an expired export, says so, and returns the window of its replacement: the expired
 * export's own `_since` and `_until`. Files it committed stay loaded; the checkpoint has not
 * moved (it moves only when an export completes), so nothing between is skipped.
 */
async function expired(ctx: BulkExportContext, job: BulkExport, error: unknown): Promise<ExportWindow> {
  await endExport(ctx.load.db, job.id, 'expired', errorMessage(error));
  const window: ExportWindow = {
    since: job.since ?? undefined,
    until: job.until ?? undefined,
    fingerprint: job.fingerprint ?? exportFingerprint(ctx.source),
  };
  ctx.logger.warn(
    { event: 'bulk.export_expired', exportId: job.id, since: window.since },
    `${errorMessage(error)}; export ${job.id} is ended as expired (what it committed stays loaded) and a new export ` +
      `is kicked off with the same _since (${window.since ?? 'none: everything'})`,
  );
  return window;
}

/** The `_since` and `_until` an export is kicked off with, and the fingerprint of what it asks for. */
interface ExportWindow {
  since: string | undefined;
  until: string | undefined;
  fingerprint: string;
}

/**
 * Says why an incremental source runs a full export: its watermark was reached with other
 * parameters (a type added to export.types, another Group, other filters...), and `_since`
 * would skip the history those never covered.
 */
function logParametersChanged(
  ctx: BulkExportContext,
  checkpoint: Checkpoint | undefined,
  window: ExportWindow,
) {
  const { since, fullRefresh } = ctx.request;
  if (since !== undefined || fullRefresh === true || !parametersChanged(checkpoint, window.fingerprint))
    return;
  ctx.logger.warn(
    { event: 'bulk.parameters_changed', checkpoint: checkpoint?.watermark },
    `the export parameters (level, groupId, operation, exportType, types, typeFilters, elements, patients) changed since ` +
      `the checkpoint ${checkpoint?.watermark}; exporting everything (no _since) so the new scope gets its history`,
  );
}

/**
 * The export an earlier run left polling or downloading, unless this run asks for something
 * else: a different window (`--since`, `--full-refresh`, `--until`), or different parameters
 * (the config changed since it was kicked off: resuming would load the old scope and
 * checkpoint it as the new one). Such an export is abandoned and cancelled (DELETE).
 */
async function resumableExport(
  ctx: BulkExportContext,
  window: ExportWindow,
): Promise<BulkExport | undefined> {
  const job = await findResumableExport(ctx.load.db, ctx.source.name);
  if (!job) return undefined;
  const superseded = supersededBecause(ctx, job, window);
  if (superseded !== undefined) {
    await endExport(ctx.load.db, job.id, 'abandoned', `superseded by run ${ctx.run.id}: ${superseded}`);
    ctx.logger.info(
      {
        event: 'bulk.abandon',
        exportId: job.id,
        state: job.state,
        statusUrl: redactStatusUrl(job.statusUrl),
      },
      `abandoning export ${job.id} (${job.state}): ${superseded}`,
    );
    await deleteQuietly(ctx, job.statusUrl);
    return undefined;
  }
  await recordResume(ctx.load.db, job.id, ctx.run.id);
  ctx.logger.info(
    { event: 'bulk.resume', exportId: job.id, state: job.state, statusUrl: redactStatusUrl(job.statusUrl) },
    `resuming export ${job.id} (${job.state}) instead of kicking off a new one`,
  );
  return job;
}

/** Why an unfinished export must not be resumed by this run; undefined when it may. */
function supersededBecause(
  ctx: BulkExportContext,
  job: BulkExport,
  window: ExportWindow,
): string | undefined {
  // An export recorded before fingerprints existed is taken to match, as its checkpoint would be.
  if (job.fingerprint !== null && job.fingerprint !== window.fingerprint) {
    return 'the export parameters (types, Group, filters...) changed since it was kicked off';
  }
  if (job.baseUrl !== null && job.baseUrl !== ctx.source.baseUrl) {
    return `the source's baseUrl changed since it was kicked off at ${redactUrl(job.baseUrl)}`;
  }
  const { since, fullRefresh, until } = ctx.request;
  // A full refresh is a new export by definition: an old one may have been kicked off with a _since.
  if (fullRefresh === true) return 'the run asks for a full refresh';
  const explicit = since !== undefined || until !== undefined;
  const differs = (job.since ?? undefined) !== window.since || (job.until ?? undefined) !== window.until;
  if (explicit && differs) {
    return `the run asks for _since=${window.since ?? '(none)'} _until=${window.until ?? '(none)'}`;
  }
  return undefined;
}

async function startExport(ctx: BulkExportContext, window: ExportWindow): Promise<BulkExport> {
  ctx.signal?.throwIfAborted();
  const parameters = exportParameters(ctx.source, window);
  const { statusUrl, request } = await kickOff(ctx.client, ctx.source.baseUrl, parameters, {
    method: ctx.source.export.method,
    auth: ctx.auth,
    signal: ctx.signal,
  });
  const job = await recordKickOff(ctx.load.db, {
    source: ctx.source.name,
    statusUrl,
    request,
    ...(window.since === undefined ? {} : { since: window.since }),
    ...(window.until === undefined ? {} : { until: window.until }),
    fingerprint: window.fingerprint,
    baseUrl: ctx.source.baseUrl,
    runId: ctx.run.id,
  });
  ctx.logger.info(
    {
      event: 'bulk.kick_off',
      exportId: job.id,
      method: request.method,
      url: redactUrl(request.url),
      since: window.since,
      until: window.until,
    },
    `export ${job.id} kicked off (${request.method} ${redactUrl(request.url)})`,
  );
  return job;
}

/**
 * export.timeoutMinutes bounds how long THIS run waits for the server to prepare the export,
 * from when it starts polling: never the export's age. An export kicked off yesterday by a run
 * that crashed gets a full timeout today. An export whose manifest was recorded (downloading)
 * is past that phase: its status URL is asked again only for fresh file URLs, with no deadline.
 */
function pollingDeadline(ctx: BulkExportContext, job: BulkExport): number | undefined {
  if (job.state === 'downloading') return undefined;
  return now(ctx) + ctx.source.export.timeoutMinutes * 60_000;
}

function now(ctx: BulkExportContext): number {
  return (ctx.now ?? Date.now)();
}

function waitForManifest(
  ctx: BulkExportContext,
  job: BulkExport,
  deadline: number | undefined,
): Promise<Manifest> {
  const { maxPollIntervalSeconds, timeoutMinutes } = ctx.source.export;
  return awaitManifest(ctx.client, job.statusUrl, {
    auth: ctx.auth,
    signal: ctx.signal,
    maxPollIntervalMs: maxPollIntervalSeconds * 1000,
    ...(deadline === undefined ? {} : { deadline }),
    timeoutMinutes,
    logger: ctx.logger,
    onProgress: (progress) => {
      ctx.logger.info(
        { event: 'bulk.progress', exportId: job.id, progress },
        `export ${job.id}: ${progress}`,
      );
    },
    // The export's state, the server's X-Progress, the wait so far and the next poll, on the terminal.
    onPoll: (poll) => ctx.progress?.phase(describePoll(ctx.source.name, job.id, poll)),
    ...(ctx.sleep ? { sleep: ctx.sleep } : {}),
    now: () => now(ctx),
  });
}

/** Downloads and loads every file not yet committed; stops starting files at the first failure or a shutdown. */
async function loadFiles(
  ctx: BulkExportContext,
  job: BulkExport,
  manifest: Manifest,
  files: BulkFile[],
): Promise<{ files: number; issues: number }> {
  const auth = fileAuth(manifest, ctx.auth);
  assertFileOrigins([...manifest.output, ...manifest.deleted, ...manifest.error], auth);
  const pending = files.filter((file) => !file.committed);
  const urls = new Map(files.map((file) => [file.fileKey, file.url]));
  const refreshUrls = singleFlight(async () => {
    // The export is complete: its status URL answers with the manifest at once (no deadline).
    const fresh = await waitForManifest(ctx, job, undefined);
    for (const file of manifestFiles(job.id, fresh)) urls.set(file.fileKey, file.url);
  });
  const completion = exportCompletion(ctx, job, manifest);
  const limit = pLimit(ctx.source.export.concurrency);
  let failure: unknown;
  let loaded = 0;
  let issues = 0;
  const loadAll = (batch: BulkFile[]) =>
    Promise.all(
      batch.map((file) =>
        limit(async () => {
          if (failure !== undefined || ctx.signal?.aborted) return;
          try {
            const result = await downloadAndLoad(
              file,
              {
                client: ctx.client,
                auth,
                logger: ctx.logger,
                urlOf: (f) => urls.get(f.fileKey) as string,
                refreshUrls,
                ...(ctx.signal ? { signal: ctx.signal } : {}),
              },
              (stream, url) => loadOne(ctx, file, stream, url, completion, manifest.transactionTime),
            );
            ctx.run.add(result);
            if (result.status === 'loaded') loaded++;
            issues += result.issues ?? 0;
          } catch (error) {
            failure ??= await warehouseFailure(error);
          }
        }),
      ),
    );
  // The warehouse gone (or full) fails every file alike: said once, naming the server, like `load`.
  const warehouseFailure = async (error: unknown): Promise<unknown> => {
    if (failure !== undefined) return failure;
    const fault = await warehouseFault(ctx.load.db, error);
    if (!fault) return error;
    return warehouseStoppedExport(
      ctx.load.db,
      fault,
      { exportId: job.id, committed: loaded, pending: pending.length },
      error,
    );
  };
  ctx.progress?.start(pending.length, 0);
  // Deleted files start once every output and error file has committed: a resource both
  // deleted and exported in this export then ends the same whatever the timing (see
  // applyDeletedFile), rather than as whichever file happened to commit last.
  await loadAll(pending.filter((file) => file.kind !== 'deleted'));
  await loadAll(pending.filter((file) => file.kind === 'deleted'));
  ctx.progress?.stop();
  // A caught error, rethrown as it is. TypeScript narrows `failure` to undefined here (only the
  // callbacks above assign it), so the rule sees `never`.
  // eslint-disable-next-line @typescript-eslint/only-throw-error -- see above
  if (failure !== undefined) throw failure;
  ctx.signal?.throwIfAborted();
  return { files: loaded, issues };
}

/** Loads one file by its kind, committing the export's bookkeeping in the same transaction. */
async function loadOne(
  ctx: BulkExportContext,
  file: BulkFile,
  stream: import('node:stream').Readable,
  url: string,
  completion: ExportCompletion,
  transactionTime: string,
): Promise<FileLoadResult & { issues?: number }> {
  const toLoad: FileToLoad = {
    source: ctx.source.name,
    fileKey: file.fileKey,
    path: redactUrl(url),
    runId: ctx.run.id,
    // The file's place in the manifest, whatever the export: a new export's copy replaces its rejects.
    rejectKey: `bulk:${file.kind}:${file.resourceType}:${file.index}`,
  };
  const beforeCommit = async (tx: import('../../loaders/index.ts').SqlQueryable) => {
    logSettlement(ctx, completion, await commitFile(tx, file, completion));
  };
  const onBytes = (n: number) => ctx.progress?.bytes(n);
  ctx.progress?.fileStarted(toLoad.path);
  const result =
    file.kind === 'output'
      ? await ingestNdjson(ctx.load, toLoad, stream, { onBytes, beforeCommit })
      : file.kind === 'deleted'
        ? await applyDeletedFile(ctx.load, toLoad, stream, { onBytes, beforeCommit, transactionTime })
        : await recordErrorFile(
            ctx.load,
            toLoad,
            { exportId: file.exportId, resourceType: file.resourceType },
            stream,
            {
              onBytes,
              beforeCommit,
            },
          );
  ctx.progress?.fileDone(toLoad.path, result);
  return result;
}

function logSettlement(
  ctx: BulkExportContext,
  completion: ExportCompletion,
  settlement: Settlement | undefined,
) {
  if (settlement?.state === 'completed') {
    ctx.logger.info(
      { event: 'bulk.checkpoint', watermark: completion.watermark },
      `export complete; checkpoint advanced to ${completion.watermark}`,
    );
  } else if (settlement?.state === 'held') {
    ctx.logger.warn(
      { event: 'bulk.checkpoint_held', heldIssues: settlement.heldIssues },
      `export loaded, but its error files report ${settlement.heldIssues} error issue(s); the checkpoint does not advance`,
    );
  }
}

/**
 * Every file committed (the last one settled the export in its transaction; settled again
 * here, idempotently, for a manifest with no files or an export a crashed run had finished
 * loading). Then the server is told it may drop the files. An export held back by error
 * issues fails the run, so the operator sees it.
 */
async function finish(
  ctx: BulkExportContext,
  job: BulkExport,
  manifest: Manifest,
  checkpoint: Checkpoint | undefined,
): Promise<void> {
  const settlement = await settleExport(ctx.load.db, job.id, exportCompletion(ctx, job, manifest));
  await deleteQuietly(ctx, job.statusUrl);
  if (settlement.state === 'held') {
    throw new BulkExportIssuesError({
      exportId: job.id,
      issues: settlement.heldIssues,
      ...(checkpoint === undefined ? {} : { watermark: checkpoint.watermark }),
    });
  }
}

/** The watermark a complete export commits: its `_until` when it was bounded, else its transactionTime. */
function exportCompletion(ctx: BulkExportContext, job: BulkExport, manifest: Manifest): ExportCompletion {
  return {
    source: ctx.source.name,
    watermark: exportWatermark(manifest.transactionTime, job.until),
    fingerprint: job.fingerprint ?? exportFingerprint(ctx.source),
    runId: ctx.run.id,
    errorIssuesHold: ctx.source.export.errorIssues === 'hold',
  };
}

/**
 * Records why the run stopped. A job the server says failed is ended (the next run kicks
 * off anew), and so is one that did not complete within export.timeoutMinutes of polling:
 * it is cancelled (DELETE), since resuming it would only time out again. Anything else (a
 * shutdown, a file that would not load) leaves the export resumable.
 */
async function stopped(ctx: BulkExportContext, job: BulkExport, error: unknown): Promise<unknown> {
  const message = ctx.signal?.aborted
    ? `stopped (${whyStopped(ctx.signal)}) during export ${job.id}; the next run resumes it`
    : errorMessage(error);
  try {
    if (error instanceof BulkExportTimeoutError) {
      await endExport(ctx.load.db, job.id, 'failed', message);
      await deleteQuietly(ctx, job.statusUrl);
    } else if (error instanceof BulkExportFailedError) {
      await endExport(ctx.load.db, job.id, 'failed', message);
    } else if (isExpired(error)) {
      await endExport(ctx.load.db, job.id, 'expired', message);
    } else {
      await noteExportError(ctx.load.db, job.id, message);
    }
  } catch (recording) {
    // The warehouse that failed the export cannot note it either: the export stays as it was
    // (resumable), and the run reports why it stopped, not this echo of it.
    if (!(error instanceof WarehouseError)) throw recording;
  }
  return ctx.signal?.aborted ? new Error(message, { cause: error }) : error;
}

async function deleteQuietly(ctx: BulkExportContext, statusUrl: string): Promise<void> {
  try {
    const result = await deleteExport(ctx.client, statusUrl, { auth: ctx.auth });
    if (!result.ok) {
      ctx.logger.info(
        {
          event: 'bulk.delete_refused',
          statusUrl: redactStatusUrl(statusUrl),
          status: result.status,
          detail: result.detail,
        },
        `DELETE ${redactStatusUrl(statusUrl)} answered ${result.status}`,
      );
    }
  } catch (error) {
    ctx.logger.warn(
      { event: 'bulk.delete_failed', statusUrl: redactStatusUrl(statusUrl) },
      `DELETE ${redactStatusUrl(statusUrl)} failed: ${errorMessage(error)}`,
    );
  }
}

/** Concurrent callers share one run of `fn` (one manifest refresh for every file that got a 410). */
function singleFlight(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    running ??= fn().finally(() => {
      running = undefined;
    });
    return running;
  };
}
