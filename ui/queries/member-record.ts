import { type ConnectionPool, type SQLQuery, sql } from '@databases/pg';
import { MEMBER_SECTIONS, type MemberSection } from './member-sections.ts';
import { queryRows } from '../../loaders/postgres/query-rows.ts';

/** A member is one Patient of one source: the key every query of the member's page filters on. */
export interface MemberKey {
  source: string;
  patientId: string;
}

export type Row = Record<string, unknown>;

export interface SectionRows {
  section: MemberSection;
  rows: Row[];
  /** The runs that wrote these rows (system column _run_id), for "from source S, run N". */
  runs: number[];
}

export interface ClaimDetail {
  lines: Row[];
  diagnoses: Row[];
}

export interface MemberRecord {
  key: MemberKey;
  patient: Row;
  identifiers: Row[];
  sections: SectionRows[];
  /** Lines and diagnoses per claim id (explanation_of_benefit.id). */
  claims: Map<string, ClaimDetail>;
}

/** Everything the member's page renders, or null when the source holds no such Patient. */
export async function memberRecord(
  db: ConnectionPool,
  viewSchema: string,
  key: MemberKey,
): Promise<MemberRecord | null> {
  const sections: SectionRows[] = [];
  for (const section of MEMBER_SECTIONS) sections.push(await sectionRows(db, viewSchema, key, section));
  const patient = sections[0]?.rows[0];
  if (!patient) return null;
  const identifiers: Row[] = await queryRows(
    db,
    sql`
    SELECT system, value, type_code, type_text, use, _run_id FROM ${sql.ident(viewSchema, 'patient_identifier')}
    WHERE _source = ${key.source} AND patient_id = ${key.patientId} ORDER BY identifier_index`,
  );
  return { key, patient, identifiers, sections, claims: await claimDetails(db, viewSchema, key) };
}

async function sectionRows(
  db: ConnectionPool,
  viewSchema: string,
  key: MemberKey,
  section: MemberSection,
): Promise<SectionRows> {
  const rows: Row[] = await queryRows(db, sectionQuery(viewSchema, key, section));
  const runs = [...new Set(rows.map((row) => Number(row._run_id)))].sort((a, b) => a - b);
  return { section, rows, runs };
}

/**
 * The rows a section shows: the member's rows of its view table, in its order, up to its
 * limit; for observations, the latest of each code. The raw view shows these rows' resources.
 */
export function sectionQuery(viewSchema: string, key: MemberKey, section: MemberSection): SQLQuery {
  const table = sql.ident(viewSchema, section.table);
  const member = sql.ident(section.memberColumn);
  const order = sql.__dangerous__rawValue(section.order);
  if (section.key === 'observations') {
    return sql`
      SELECT * FROM (
        SELECT DISTINCT ON (coalesce(code, id)) * FROM ${table}
        WHERE _source = ${key.source} AND ${member} = ${key.patientId}
        ORDER BY coalesce(code, id), effective DESC NULLS LAST, id
      ) latest ORDER BY ${order} LIMIT ${section.limit}`;
  }
  return sql`
    SELECT * FROM ${table} WHERE _source = ${key.source} AND ${member} = ${key.patientId}
    ORDER BY ${order} LIMIT ${section.limit}`;
}

/** Claim lines and diagnoses of the member's claims, keyed by claim (and member: never another's). */
async function claimDetails(
  db: ConnectionPool,
  viewSchema: string,
  key: MemberKey,
): Promise<Map<string, ClaimDetail>> {
  const lines: Row[] = await queryRows(
    db,
    sql`
    SELECT eob_id, sequence, service_code, service_display, service_start, quantity,
           submitted_amount, allowed_amount, paid_amount, member_liability_amount
    FROM ${sql.ident(viewSchema, 'eob_item')}
    WHERE _source = ${key.source} AND patient_id = ${key.patientId} ORDER BY eob_id, sequence`,
  );
  const diagnoses: Row[] = await queryRows(
    db,
    sql`
    SELECT eob_id, sequence, code, system, display, type, condition_id
    FROM ${sql.ident(viewSchema, 'eob_diagnosis')}
    WHERE _source = ${key.source} AND patient_id = ${key.patientId} ORDER BY eob_id, sequence`,
  );
  const claims = new Map<string, ClaimDetail>();
  const claim = (id: unknown) => {
    const existing = claims.get(String(id));
    if (existing) return existing;
    const created: ClaimDetail = { lines: [], diagnoses: [] };
    claims.set(String(id), created);
    return created;
  };
  for (const line of lines) claim(line.eob_id).lines.push(line);
  for (const diagnosis of diagnoses) claim(diagnosis.eob_id).diagnoses.push(diagnosis);
  return claims;
}

/** The member's name (and member id) for a page title, or null when not loaded. */
export async function memberName(
  db: ConnectionPool,
  viewSchema: string,
  key: MemberKey,
): Promise<string | null> {
  const [row]: Array<{ name: string }> = await queryRows(
    db,
    sql`
    SELECT coalesce(full_name, member_id, id) AS name FROM ${sql.ident(viewSchema, 'patient')}
    WHERE _source = ${key.source} AND id = ${key.patientId}`,
  );
  return row ? String(row.name) : null;
}
