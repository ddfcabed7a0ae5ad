import { type ConnectionPool, sql } from '@databases/pg';
import type { MemberKey } from './member-record.ts';

export interface MemberView {
  /** Who is looking: the basic-auth user, 'bearer token', or 'loopback' without auth. */
  viewer: string;
  /** The client's address as the console saw it. */
  client: string;
  key: MemberKey;
  view: 'record' | 'raw';
}

/**
 * Records who viewed which member, before the page is sent. The reader role cannot write
 * fhir_etl: the function runs as the loader that owns it (SECURITY DEFINER, migration 060).
 */
export async function recordMemberView(db: ConnectionPool, view: MemberView): Promise<void> {
  await db.query(sql`
    SELECT fhir_etl_status.record_member_view(
      ${view.viewer}, ${view.key.source}, ${view.key.patientId}, ${view.view}, ${view.client})`);
}
