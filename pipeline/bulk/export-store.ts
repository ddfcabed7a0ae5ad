import { type ConnectionPool, sql } from '@databases/pg';
import type { SqlQueryable } from '../../loaders/postgres/load-transaction.ts';
import {
  BulkExportIssuesError,
  type KickOffRequest,
  type Manifest,
  type ManifestFile,
  type OutcomeIssue,
} from '../../connectors/bulk/index.ts';
import { redactUrl } from '../../connectors/http/index.ts';
import { type ExportCompletion, writeWatermark } from './checkpoint.ts';
import { queryRows } from '../../loaders/postgres/query-rows.ts';
import { queryRow } from '../../loaders/postgres/query-row.ts';

/**
 * The state of Bulk Data exports in fhir_etl (migrations/002_bulk_exports.sql): what a run
 * needs to resume an export after a crash (its status URL, which files committed), and what
 * `fhir-etl status` shows. File URLs are stored redacted: they may be signed capabilities, and
 * a resumed export gets fresh ones from its status URL anyway. The status URL itself is kept as
 * the server sent it (a resumed export must poll and DELETE it); it may be a capability too, so
 * it is only ever shown through redactStatusUrl, and `fhir-etl status` does not read it.
 */

export type ExportState = 'polling' | 'downloading' | 'completed' | 'failed' | 'expired' | 'abandoned';
export type FileKind = 'output' | 'deleted' | 'error';

export interface BulkExport {
  id: number;
  source: string;
  statusUrl: string;
  since: string | null;
  /** The `_until` sent (null: up to the transactionTime). */
  until: string | null;
  state: ExportState;
  startedAt: Date;
  /** exportFingerprint of the parameters it was kicked off with; null when recorded before fingerprints. */
  fingerprint: string | null;
  /** The source's baseUrl at kick-off; null when recorded before base URLs were kept. */
  baseUrl: string | null;
}

/** One file of a manifest, known by its place: kind, type and index among that kind and type. */
export interface BulkFile {
  exportId: number;
  kind: FileKind;
  resourceType: string;
  index: number;
  url: string;
  count?: number;
  committed: boolean;
  /** `bulk:<export id>:<kind>:<type>:<index>`: stable when a 410 hands out a new URL. */
  fileKey: string;
}

/** The export a run should resume: the source's latest that is still polling or downloading. */
export async function findResumableExport(
  db: ConnectionPool,
  source: string,
): Promise<BulkExport | undefined> {
  const [row]: Array<Record<string, unknown>> = await queryRows(
    db,
    sql`
    SELECT id, source, status_url, since, until, state, started_at, fingerprint, base_url FROM fhir_etl.bulk_exports
    WHERE source = ${source} AND state IN ('polling', 'downloading')
    ORDER BY id DESC LIMIT 1`,
  );
  return row ? toExport(row) : undefined;
}

/** Records an accepted kick-off: from here on a restarted run polls this export instead of starting another. */
export async function recordKickOff(
  db: ConnectionPool,
  details: {
    source: string;
    statusUrl: string;
    request: KickOffRequest;
    since?: string;
    until?: string;
    fingerprint: string;
    baseUrl: string;
    runId: number;
  },
): Promise<BulkExport> {
  const request = {
    method: details.request.method,
    url: redactUrl(details.request.url),
    body: details.request.body,
  };
  const row = await queryRow<Record<string, unknown>>(
    db,
    sql`
    INSERT INTO fhir_etl.bulk_exports (source, status_url, request, since, until, fingerprint, base_url, run_id)
    VALUES (${details.source}, ${details.statusUrl}, ${JSON.stringify(request)}::jsonb, ${details.since ?? null},
            ${details.until ?? null}, ${details.fingerprint}, ${details.baseUrl}, ${details.runId})
    RETURNING id, source, status_url, since, until, state, started_at, fingerprint, base_url`,
  );
  return toExport(row);
}

/** A resumed export now belongs to this run too. */
export async function recordResume(db: ConnectionPool, exportId: number, runId: number): Promise<void> {
  await db.query(
    sql`UPDATE fhir_etl.bulk_exports SET run_id = ${runId}, updated_at = now(), error = NULL WHERE id = ${exportId}`,
  );
}

/**
 * Records the manifest and its files (every page), keeping the committed state of files
 * already known from an earlier run of the same export. Returns every file, in manifest order.
 */
export async function recordManifest(
  db: ConnectionPool,
  exportId: number,
  manifest: Manifest,
): Promise<BulkFile[]> {
  const files = manifestFiles(exportId, manifest);
  return db.tx(async (tx) => {
    await tx.query(sql`
      UPDATE fhir_etl.bulk_exports SET state = 'downloading', transaction_time = ${manifest.transactionTime},
        manifest = ${JSON.stringify(redactManifest(manifest))}::jsonb, updated_at = now()
      WHERE id = ${exportId}`);
    if (files.length > 0) {
      await tx.query(sql`
        INSERT INTO fhir_etl.bulk_files (export_id, kind, resource_type, index, url, count, file_key)
        SELECT ${exportId}, f.kind, f.resource_type, f.index, f.url, f.count, f.file_key
        FROM unnest(${files.map((f) => f.kind)}::text[], ${files.map((f) => f.resourceType)}::text[],
                    ${files.map((f) => f.index)}::int[], ${files.map((f) => redactUrl(f.url))}::text[],
                    ${files.map((f) => f.count ?? null)}::bigint[], ${files.map((f) => f.fileKey)}::text[])
             AS f(kind, resource_type, index, url, count, file_key)
        ON CONFLICT (export_id, kind, resource_type, index) DO UPDATE SET url = EXCLUDED.url, count = EXCLUDED.count`);
    }
    const committed: Array<{ file_key: string }> = await queryRows(
      tx,
      sql`
      SELECT file_key FROM fhir_etl.bulk_files WHERE export_id = ${exportId} AND state = 'committed'`,
    );
    const done = new Set(committed.map((row) => row.file_key));
    return files.map((file) => ({ ...file, committed: done.has(file.fileKey) }));
  });
}

/** The files of a manifest with their keys; the index counts files of the same kind and type. */
export function manifestFiles(exportId: number, manifest: Manifest): BulkFile[] {
  const files: BulkFile[] = [];
  const seen = new Map<string, number>();
  const add = (kind: FileKind, file: ManifestFile) => {
    const group = `${kind}:${file.type}`;
    const index = seen.get(group) ?? 0;
    seen.set(group, index + 1);
    files.push({
      exportId,
      kind,
      resourceType: file.type,
      index,
      url: file.url,
      ...(file.count === undefined ? {} : { count: file.count }),
      committed: false,
      fileKey: `bulk:${exportId}:${group}:${index}`,
    });
  };
  for (const file of manifest.error) add('error', file);
  for (const file of manifest.output) add('output', file);
  for (const file of manifest.deleted) add('deleted', file);
  return files;
}

/**
 * How a complete export ended: `completed` advanced the watermark; `held` did not, because its
 * error files report resources the server failed to export (heldIssues of them).
 */
export type Settlement = { state: 'completed' } | { state: 'held'; heldIssues: number };

/**
 * Marks a file committed, inside the file's own transaction; when it was the export's last,
 * settles the export in that same transaction. The export row is locked first, so of two
 * last files committing at once, the second sees the first.
 *
 * Lock order of a Bulk file's transaction: every table it touches, in the order it locks it.
 * Files of one export run at once (export.concurrency), so each step may only wait for what
 * no file waits for while holding something this file holds.
 *  1. Advisory lock on `source|fileKey` (loadExactlyOnce): only another load of the same file waits.
 *  2. fhir_etl.files: read of the file's own key (no lock).
 *  3. fhir_raw.<type>: the type's direct-copy advisory lock (tried, never waited for) or its
 *     shared merge locks, by type name; then the rows of the file's resources (COPY, merge,
 *     or a deleted file's marks). See loaders/raw/load-file.ts (lockForMerge).
 *  4. View tables: VIEW_TABLES_LOCK shared (only `rebuild` takes it exclusively), then the
 *     rows of the resources the file changed.
 *  5. fhir_etl.rejects, fhir_etl.bulk_errors, fhir_etl.files: new rows (a reject keyed like
 *     one of an earlier export's copy of the file replaces that committed row: no file of this
 *     export shares its key). Their foreign
 *     keys take FOR KEY SHARE on the fhir_etl.runs row and (bulk_errors) on the
 *     fhir_etl.bulk_exports row: shared by every file of the export.
 *  6. fhir_etl.bulk_exports: the export's row FOR NO KEY UPDATE, here: the one lock files of
 *     an export queue on, taken last. NO KEY UPDATE does not conflict with the FOR KEY SHARE
 *     of step 5, so a file waiting here never holds up the file ahead of it. (FOR UPDATE
 *     does conflict: two error files, each holding the key share of its bulk_errors rows and
 *     each asking FOR UPDATE, waited for each other: the deadlock of issue 13.)
 *  7. fhir_etl.bulk_files: the file's own row (its key unchanged: no foreign-key lock).
 *  8. Only the export's last file, still under 6: the export row again (UPDATE, no key
 *     change), then the source's fhir_etl.checkpoints rows, written by no other file of the
 *     source outside lock 6.
 * After step 6 a file takes nothing another file of the export holds, so no cycle can close.
 * @returns the settlement when this file completed the export, else undefined
 */
export async function commitFile(
  tx: SqlQueryable,
  file: BulkFile,
  completion: ExportCompletion,
): Promise<Settlement | undefined> {
  await tx.query(sql`SELECT 1 FROM fhir_etl.bulk_exports WHERE id = ${file.exportId} FOR NO KEY UPDATE`);
  await tx.query(sql`
    UPDATE fhir_etl.bulk_files SET state = 'committed', committed_at = now()
    WHERE export_id = ${file.exportId} AND kind = ${file.kind} AND resource_type = ${file.resourceType} AND index = ${file.index}`);
  const left = await queryRow<{ n: number }>(
    tx,
    sql`
    SELECT count(*)::int AS n FROM fhir_etl.bulk_files WHERE export_id = ${file.exportId} AND state <> 'committed'`,
  );
  if (left.n > 0) return undefined;
  return settleExport(tx, file.exportId, completion);
}

/**
 * Settles an export every file of which committed (directly, when the manifest listed none).
 * Issues of severity `error` or `fatal` in its error files are resources the server failed to
 * export: advancing the watermark past them would mean they are never asked for again unless
 * they change, so the export ends `failed` and the watermark stays; the next run exports from
 * the old watermark (the overlap is absorbed by the upsert). `information` and `warning`
 * issues do not hold it back. Idempotent: a resumed run may settle an export again.
 *
 * @see Bulk Data STU2 export.html#response---complete-status (error)
 * @see /work/shared/reference/standards.md section 4 ("Don't advance the watermark on failure")
 */
export async function settleExport(
  tx: SqlQueryable,
  exportId: number,
  completion: ExportCompletion,
): Promise<Settlement> {
  const heldIssues = completion.errorIssuesHold ? await countHeldIssues(tx, exportId) : 0;
  if (heldIssues === 0) {
    await completeExport(tx, exportId, completion);
    return { state: 'completed' };
  }
  const message = new BulkExportIssuesError({ exportId, issues: heldIssues }).message;
  await tx.query(sql`
    UPDATE fhir_etl.bulk_exports SET state = 'failed', completed_at = now(), updated_at = now(), error = ${message}
    WHERE id = ${exportId}`);
  return { state: 'held', heldIssues };
}

/** Severities that mean a resource was not exported (FHIR R4 valueset-issue-severity). */
const HOLDING_SEVERITIES = ['error', 'fatal'];

async function countHeldIssues(tx: SqlQueryable, exportId: number): Promise<number> {
  const row = await queryRow<{ n: number }>(
    tx,
    sql`
    SELECT count(*)::int AS n FROM fhir_etl.bulk_errors
    WHERE export_id = ${exportId} AND lower(severity) = ANY(${HOLDING_SEVERITIES}::text[])`,
  );
  return row.n;
}

/** Completes an export and advances the watermark. */
async function completeExport(
  tx: SqlQueryable,
  exportId: number,
  completion: ExportCompletion,
): Promise<void> {
  await tx.query(sql`
    UPDATE fhir_etl.bulk_exports SET state = 'completed', completed_at = now(), updated_at = now(), error = NULL
    WHERE id = ${exportId}`);
  await writeWatermark(tx, completion);
}

/** Ends an export that can no longer finish (the next run kicks off a new one). */
export async function endExport(
  db: ConnectionPool,
  exportId: number,
  state: 'failed' | 'expired' | 'abandoned',
  error: string,
): Promise<void> {
  await db.query(sql`
    UPDATE fhir_etl.bulk_exports SET state = ${state}, error = ${error}, updated_at = now() WHERE id = ${exportId}`);
}

/** Notes why a run stopped without ending the export: the next run resumes it. */
export async function noteExportError(db: ConnectionPool, exportId: number, error: string): Promise<void> {
  await db.query(
    sql`UPDATE fhir_etl.bulk_exports SET error = ${error}, updated_at = now() WHERE id = ${exportId}`,
  );
}

/** Stores the issues of an error file's OperationOutcomes (inside that file's transaction). */
export async function recordBulkErrors(
  tx: SqlQueryable,
  source: string,
  exportId: number,
  issues: OutcomeIssue[],
  fileType: string,
): Promise<void> {
  if (issues.length === 0) return;
  const fallbackType = fileType === 'OperationOutcome' ? null : fileType;
  await tx.query(sql`
    INSERT INTO fhir_etl.bulk_errors (source, export_id, resource_type, severity, code, diagnostics)
    SELECT ${source}, ${exportId}, i.resource_type, i.severity, i.code, i.diagnostics
    FROM unnest(${issues.map((i) => i.resourceType ?? fallbackType)}::text[], ${issues.map((i) => i.severity ?? null)}::text[],
                ${issues.map((i) => i.code ?? null)}::text[], ${issues.map((i) => i.diagnostics ?? null)}::text[])
         AS i(resource_type, severity, code, diagnostics)`);
}

function redactManifest(manifest: Manifest): Manifest {
  const redact = (files: ManifestFile[]) => files.map((f) => ({ ...f, url: redactUrl(f.url) }));
  return {
    ...manifest,
    output: redact(manifest.output),
    deleted: redact(manifest.deleted),
    error: redact(manifest.error),
  };
}

function toExport(row: Record<string, unknown>): BulkExport {
  return {
    id: Number(row.id),
    source: row.source as string,
    statusUrl: row.status_url as string,
    since: (row.since as string | null) ?? null,
    until: (row.until as string | null) ?? null,
    state: row.state as ExportState,
    startedAt: row.started_at as Date,
    fingerprint: (row.fingerprint as string | null) ?? null,
    baseUrl: (row.base_url as string | null) ?? null,
  };
}
