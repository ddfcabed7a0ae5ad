import { SingleBar } from 'cli-progress';
import type { Logger } from 'pino';
import type { FileLoadResult } from '../loaders/index.ts';

/** What a load tells the person or machine watching it. */
export interface ProgressReporter {
  /** 0 for what is not known up front: the bytes of a bulk export, the pages of a REST search. */
  start(files: number, totalBytes: number): void;
  fileStarted(path: string): void;
  bytes(count: number): void;
  fileDone(path: string, result: FileLoadResult): void;
  /**
   * What is happening before there is anything to count: a Bulk export being prepared by the
   * server (its X-Progress text), a wait the server asked for.
   */
  phase(text: string): void;
  stop(): void;
}

/** A progress bar on a terminal: bytes read against the inputs' total size. */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  const bar = new SingleBar({
    stream,
    format: ' {bar} {percentage}% | {value_mb}/{total_mb} MB | {files_done}/{files} files | {rate} MB/s',
    barsize: 30,
    hideCursor: true,
    clearOnComplete: true,
  });
  let started = 0;
  let done = 0;
  let files = 0;
  let read = 0;
  let total = 0;
  const payload = () => ({
    value_mb: (read / 1e6).toFixed(1),
    total_mb: (total / 1e6).toFixed(1),
    files_done: done,
    files: files || '?',
    rate: (read / 1e6 / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(1),
  });
  let phaseShown = false;
  return {
    start(fileCount, totalBytes) {
      if (phaseShown) stream.write('\n');
      phaseShown = false;
      files = fileCount;
      started = Date.now();
      total = totalBytes;
      bar.start(Math.max(totalBytes, 1), 0, payload());
    },
    phase(text) {
      // One line rewritten in place: the export's state while the server prepares it.
      stream.write(`\r\x1b[2K ${text.slice(0, (stream.columns || 100) - 2)}`);
      phaseShown = true;
    },
    fileStarted() {},
    bytes(count) {
      read += count;
      bar.update(read, payload());
    },
    fileDone() {
      done++;
      bar.update(read, payload());
    },
    stop() {
      if (phaseShown) stream.write('\n');
      bar.stop();
    },
  };
}

/** JSON lines, one per file, for logs and machines (`--json`, or when stderr is not a terminal). */
export function logProgress(logger: Logger): ProgressReporter {
  return {
    start(files, totalBytes) {
      logger.info({ event: 'load.start', files, bytes: totalBytes }, 'load started');
    },
    fileStarted(path) {
      logger.debug({ event: 'file.start', file: path }, 'file started');
    },
    bytes() {},
    phase(text) {
      // Connectors log their own structured event for what a phase says (bulk.progress).
      logger.debug({ event: 'load.phase', phase: text }, text);
    },
    fileDone(path, result) {
      logger.info(
        {
          event: 'file.done',
          file: path,
          status: result.status,
          resources: result.resources,
          rejects: result.rejects,
          valueErrors: result.valueErrors ?? 0,
          bytes: result.bytes,
        },
        result.status === 'already-loaded' ? `${path}: already loaded, skipped` : `${path}: loaded`,
      );
    },
    stop() {},
  };
}
