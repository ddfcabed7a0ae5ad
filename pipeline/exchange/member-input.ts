import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { type ConnectionPool, sql } from '@databases/pg';
import { CsvError, parse as parseCsv } from 'csv-parse/sync';
import type { PayerExchangeSourceConfig } from '../../config/index.ts';
import type { ExchangeMember } from '../../connectors/member-match/index.ts';
import { errorMessage } from '../../errors/index.ts';
import { MemberInputError, type MemberInputProblem } from './errors.ts';
import { MEMBER_FIELDS, parseMemberRow } from './member-row.ts';
import { queryRows } from '../../loaders/postgres/query-rows.ts';

/**
 * The members of a payer exchange, read and checked whole before anything is sent: a CSV file
 * (a header line naming the fields), an NDJSON file (one object per line) or a SQL query on the
 * warehouse (one row per member). Any bad row fails the read with every problem listed by line
 * (or row), and no member is matched: a half-read list would silently leave members out.
 */
export async function readMembers(
  db: ConnectionPool,
  source: Pick<PayerExchangeSourceConfig, 'members' | 'priorPayer'>,
): Promise<ExchangeMember[]> {
  const input = source.members;
  const rows =
    'query' in input ? await membersQueryRows(db, input.query) : await fileRows(input.file, input.format);
  const where = 'query' in input ? 'the members query' : input.file;
  const members: ExchangeMember[] = [];
  const problems: MemberInputProblem[] = [];
  const seen = new Map<string, number>();
  for (const row of rows) {
    if ('problem' in row) {
      problems.push({ line: row.line, problems: [row.problem] });
      continue;
    }
    const parsed = parseMemberRow(row.values, source.priorPayer);
    if ('problems' in parsed) {
      problems.push({ line: row.line, problems: parsed.problems });
      continue;
    }
    const first = seen.get(parsed.member.memberId);
    if (first !== undefined) {
      problems.push({
        line: row.line,
        problems: [`member_id ${parsed.member.memberId} is also on line ${first}`],
      });
      continue;
    }
    seen.set(parsed.member.memberId, row.line);
    members.push(parsed.member);
  }
  if (problems.length > 0) throw new MemberInputError(where, 'query' in input ? 'row' : 'line', problems);
  return members;
}

type InputRow = { line: number; values: Record<string, unknown> } | { line: number; problem: string };

async function fileRows(file: string, format: 'csv' | 'ndjson' | undefined): Promise<InputRow[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new MemberInputError(file, 'line', [
      { line: 0, problems: [`cannot read the file: ${errorMessage(error)}`] },
    ]);
  }
  const kind = format ?? (/\.(nd)?jsonl?$/i.test(extname(file)) ? 'ndjson' : 'csv');
  return kind === 'csv' ? csvRows(file, text) : ndjsonRows(text);
}

/** Lines counted from 1 with the header; a record's line is the one it starts on. */
function csvRows(file: string, text: string): InputRow[] {
  let records: Array<{ record: Record<string, string>; info: { lines: number }; raw: string }>;
  let unknown: string[] = [];
  const columns = (header: string[]) => {
    unknown = header.filter((name) => !(name in MEMBER_FIELDS));
    return header;
  };
  try {
    records = parseCsv(text, {
      columns,
      info: true,
      raw: true,
      bom: true,
      skip_empty_lines: true,
      trim: true,
    });
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    const line = (error as CsvError & { lines?: number }).lines ?? 0;
    throw new MemberInputError(file, 'line', [{ line, problems: [error.message] }]);
  }
  if (unknown.length > 0)
    throw new MemberInputError(file, 'line', [
      { line: 1, problems: [`unknown column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`] },
    ]);
  return records.map(({ record, info, raw }) => ({
    line: info.lines - (raw.replace(/\r?\n$/, '').match(/\n/g)?.length ?? 0),
    values: record,
  }));
}

function ndjsonRows(text: string): InputRow[] {
  const rows: InputRow[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      rows.push({ line: i + 1, problem: 'not valid JSON' });
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      rows.push({ line: i + 1, problem: 'not a JSON object' });
      return;
    }
    rows.push({ line: i + 1, values: value as Record<string, unknown> });
  });
  return rows;
}

/** The user's own query, from the config they wrote: trusted as it stands. Rows are numbered from 1. */
async function membersQueryRows(db: ConnectionPool, query: string): Promise<InputRow[]> {
  let rows: Array<Record<string, unknown>>;
  try {
    rows = await queryRows(db, sql.__dangerous__rawValue(query));
  } catch (error) {
    throw new MemberInputError('the members query', 'row', [
      { line: 0, problems: [`the query failed: ${errorMessage(error)}`] },
    ]);
  }
  return rows.map((values, i) => ({ line: i + 1, values }));
}
