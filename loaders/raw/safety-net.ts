import { sql } from '@databases/pg';
import type { LoadTransaction } from '../postgres/load-transaction.ts';
import type { RejectRecord } from './types.ts';

/**
 * One COPY of a batch into a staging table, which the safety net can split row by row: its
 * rows are COPY text lines (each ends with a newline; a newline inside a value is escaped, so
 * a raw newline byte only ever ends a row).
 */
export interface StagedCopy {
  statement: string;
  payload: Buffer | string;
  /** The reject of a row PostgreSQL refused, with its message. */
  refused(row: string, error: Error): RejectRecord;
}

/**
 * COPYs a flush's staged batches, and makes sure a row PostgreSQL refuses (a value the checks
 * in Node let through, see loaders/values) never costs the file: the batches are sent in one
 * savepoint; when a COPY fails with a data error, the savepoint is rolled back and each batch
 * is sent again, halved around the failing rows (one savepoint per try), down to the rows
 * PostgreSQL refuses, which come back as rejects with its message. k bad rows among n take
 * about 2k·log2(n) COPYs; a clean flush takes one savepoint.
 */
export async function copyStagedBatches(tx: LoadTransaction, copies: StagedCopy[]): Promise<RejectRecord[]> {
  if (copies.length === 0) return [];
  const all = await inSavepoint(tx, async () => {
    for (const copy of copies) await tx.copyFrom(copy.statement, copy.payload);
  });
  if (all === undefined) return [];
  const rejects: RejectRecord[] = [];
  for (const copy of copies) await bisect(tx, copy, rowsOf(copy.payload), rejects);
  return rejects;
}

/**
 * A failure of one row's data, not of the connection or the transaction: PostgreSQL's data
 * exceptions (class 22: a value out of range, bad syntax, a character the encoding lacks) and
 * program limits (54000: a value too large for an index).
 * @see https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
export function isRowDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code === '54000');
}

async function bisect(
  tx: LoadTransaction,
  copy: StagedCopy,
  rows: string[],
  rejects: RejectRecord[],
): Promise<void> {
  if (rows.length === 0) return;
  const error = await inSavepoint(tx, () => tx.copyFrom(copy.statement, rows.join('')));
  if (error === undefined) return;
  if (rows.length === 1) {
    rejects.push(copy.refused(rows[0] as string, error));
    return;
  }
  const middle = rows.length >> 1;
  await bisect(tx, copy, rows.slice(0, middle), rejects);
  await bisect(tx, copy, rows.slice(middle), rejects);
}

/** Runs a step in a savepoint: undefined when it succeeded, its error when a row's data failed it. */
async function inSavepoint(tx: LoadTransaction, step: () => Promise<void>): Promise<Error | undefined> {
  await tx.query(sql`SAVEPOINT fhir_etl_row_net`);
  try {
    await step();
  } catch (error) {
    if (!isRowDataError(error)) throw error;
    await tx.query(sql`ROLLBACK TO SAVEPOINT fhir_etl_row_net`);
    await tx.query(sql`RELEASE SAVEPOINT fhir_etl_row_net`);
    return error as Error;
  }
  await tx.query(sql`RELEASE SAVEPOINT fhir_etl_row_net`);
  return undefined;
}

function rowsOf(payload: Buffer | string): string[] {
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  const rows = text.split('\n');
  rows.pop(); // after the last newline
  return rows.map((row) => `${row}\n`);
}

/** The fields of a COPY text row, unescaped (see copy-text.ts); `\N` is null. */
export function copyFields(row: string): Array<string | null> {
  const line = row.endsWith('\n') ? row.slice(0, -1) : row;
  return line.split('\t').map((field) => (field === '\\N' ? null : unescapeCopyText(field)));
}

const UNESCAPED: Record<string, string> = { '\\': '\\', t: '\t', n: '\n', r: '\r' };

function unescapeCopyText(field: string): string {
  return field.includes('\\')
    ? field.replace(/\\([\\tnr])/g, (_, c: string) => UNESCAPED[c] as string)
    : field;
}
