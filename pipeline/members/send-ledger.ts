import { type ConnectionPool, sql } from '@databases/pg';
import type { SendLedger } from '../../connectors/send/index.ts';

/** fhir_etl.sent_resources: what the server accepted for each member of a source, by content. */
export function sendLedger(db: ConnectionPool, source: string): SendLedger {
  return {
    async accepted(entry) {
      const rows = await db.query(sql`
        SELECT 1 FROM fhir_etl.sent_resources
        WHERE source = ${source} AND member = ${entry.member}
          AND resource_type = ${entry.resourceType} AND content_hash = ${entry.contentHash}`);
      return rows.length > 0;
    },
    async record(entry) {
      await db.query(sql`
        INSERT INTO fhir_etl.sent_resources
          (source, member, resource_type, content_hash, local_id, server_id, location, outcome)
        VALUES (${source}, ${entry.member}, ${entry.resourceType}, ${entry.contentHash},
                ${entry.localId ?? null}, ${entry.serverId ?? null}, ${entry.location ?? null}, ${entry.outcome})
        ON CONFLICT (source, member, resource_type, content_hash) DO NOTHING`);
    },
  };
}
