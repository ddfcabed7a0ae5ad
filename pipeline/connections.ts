import type { SourceConfig } from '../config/index.ts';
import { FILES_SOURCE_CONCURRENCY } from './sources/files.ts';

/** The pool @databases/pg opens when nothing asks for more. */
const BASE_POOL = 6;

/**
 * Connections one run of a source may hold at once: a transaction per file or page in flight
 * (each holds its connection while its HTTP body streams in), plus one for the short DDL
 * transaction that creates a new fhir_raw table while a file waits for it, plus one for run
 * records and checkpoints. A pool smaller than this makes a file wait for a connection with
 * its download open, until the pool's queue timeout fails it.
 */
export function connectionsForSource(source: SourceConfig): number {
  const inFlight =
    source.kind === 'bulk' || source.kind === 'payer-exchange'
      ? source.export.concurrency
      : source.kind === 'fhir-rest'
        ? source.concurrency
        : FILES_SOURCE_CONCURRENCY;
  return inFlight + 2;
}

/**
 * `fhir-etl run`: sources run one after the other, so the largest need sizes the pool, plus
 * the connection that holds the running source's advisory lock.
 */
export function poolSizeForRun(sources: SourceConfig[]): number {
  return Math.max(BASE_POOL, ...sources.map((source) => connectionsForSource(source) + 1));
}

/**
 * `fhir-etl schedule`: sources may run at the same time, and each running source also pins
 * one connection for its advisory lock.
 */
export function poolSizeForSchedule(sources: SourceConfig[]): number {
  return Math.max(
    BASE_POOL,
    sources.reduce((sum, source) => sum + connectionsForSource(source) + 1, 1),
  );
}

/** `fhir-etl load --concurrency N`: N file transactions, the DDL connection and run records. */
export function poolSizeForLoad(concurrency: number): number {
  return Math.max(BASE_POOL, concurrency + 2);
}
