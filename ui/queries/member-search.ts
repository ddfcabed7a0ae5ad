import { type ConnectionPool, sql } from '@databases/pg';
import { queryRows } from '../../loaders/postgres/query-rows.ts';

/** A member found by the search: one row per source that holds the member's Patient. */
export interface MemberMatch {
  source: string;
  id: string;
  member_id: string | null;
  full_name: string | null;
  birth_date: Date | string | null;
  gender: string | null;
}

export interface MemberSearch {
  /** A name (any part), a member id or another identifier's value. */
  text: string;
  /** YYYY-MM-DD, or empty. */
  birthDate: string;
}

/**
 * Members whose name contains the text (case-insensitive), whose member id or any identifier
 * equals it, and (when given) who were born on that date. At most 100, by name.
 */
export async function searchMembers(
  db: ConnectionPool,
  viewSchema: string,
  search: MemberSearch,
): Promise<MemberMatch[]> {
  const patient = sql.ident(viewSchema, 'patient');
  const identifier = sql.ident(viewSchema, 'patient_identifier');
  const text = search.text.trim();
  const byText = text
    ? sql`(p.full_name ILIKE ${`%${escapeLike(text)}%`} OR p.member_id = ${text}
           OR p.unique_member_id = ${text} OR p.mrn = ${text} OR EXISTS (
             SELECT 1 FROM ${identifier} i
             WHERE i._source = p._source AND i.patient_id = p.id AND i.value = ${text}))`
    : sql`true`;
  const byBirth = search.birthDate ? sql`p.birth_date::date = ${search.birthDate}::date` : sql`true`;
  return queryRows(
    db,
    sql`
    SELECT p._source AS source, p.id, p.member_id, p.full_name, p.birth_date, p.gender
    FROM ${patient} p WHERE ${byText} AND ${byBirth}
    ORDER BY p.family_name, p.given_name, p._source, p.id LIMIT 100`,
  );
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
