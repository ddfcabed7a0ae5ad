import { type ConnectionPool, sql } from '@databases/pg';
import { rawTableName } from '../../loaders/index.ts';
import { type MemberKey, sectionQuery } from './member-record.ts';
import { MEMBER_SECTIONS, type MemberSection } from './member-sections.ts';
import { queryRows } from '../../loaders/postgres/query-rows.ts';

export interface RawResource {
  id: string;
  version_id: string | null;
  last_updated: Date | null;
  run_id: number;
  resource: Record<string, unknown>;
}

export interface RawSection {
  section: MemberSection;
  resources: RawResource[];
}

/**
 * The stored FHIR resources behind each section of a member's page, from fhir_raw: exactly
 * the resources whose rows the section renders (the same member filter, the same limit).
 */
export async function memberRawResources(
  db: ConnectionPool,
  viewSchema: string,
  key: MemberKey,
): Promise<RawSection[]> {
  const sections: RawSection[] = [];
  for (const section of MEMBER_SECTIONS) {
    sections.push({ section, resources: await rawResources(db, viewSchema, key, section) });
  }
  return sections;
}

async function rawResources(
  db: ConnectionPool,
  viewSchema: string,
  key: MemberKey,
  section: MemberSection,
): Promise<RawResource[]> {
  const rawTable = `fhir_raw.${rawTableName(section.resourceType)}`;
  const [present]: Array<{ yes: boolean }> = await queryRows(
    db,
    sql`SELECT to_regclass(${rawTable}) IS NOT NULL AS yes`,
  );
  if (!present?.yes) return [];
  return queryRows(
    db,
    sql`
    WITH shown AS (${sectionQuery(viewSchema, key, section)})
    SELECT r.id, r.version_id, r.last_updated, r.run_id, r.resource
    FROM ${sql.ident('fhir_raw', rawTableName(section.resourceType))} r
    WHERE r.source = ${key.source} AND NOT r.deleted AND r.id IN (SELECT _resource_id FROM shown)
    ORDER BY r.id`,
  );
}
