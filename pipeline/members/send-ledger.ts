import { type ConnectionPool, sql } from '@databases/pg';
import type { LedgerKey, SendLedger } from '../../connectors/send/index.ts';
import { queryRows } from '../../loaders/postgres/query-rows.ts';

/**
 * fhir_etl.sent_resources: what was sent for each member of a source, by content (migrations
 * 003 and 008). A row is written `pending` and committed before the POST, and marked `delivered`
 * after the server confirmed it, so a kill or a lost answer in between leaves a trace.
 *
 * The claim is a transaction-scoped advisory lock on (source, member, type, content hash), held
 * while the resource is sent: a second `fhir-etl send` of the same resource (another process or
 * host) waits for the first and then finds the row delivered. The lock is released at commit or
 * rollback, or when the connection dies with the process. The rows themselves are written on
 * other connections (committed at once), so the pending row survives whatever happens to the
 * transaction holding the lock.
 */
export function sendLedger(db: ConnectionPool, source: string): SendLedger {
  const where = (key: LedgerKey) => sql`
    source = ${source} AND member = ${key.member}
    AND resource_type = ${key.resourceType} AND content_hash = ${key.contentHash}`;
  return {
    claim(key, send) {
      return db.tx(async (tx) => {
        // Two 32-bit hashes: a collision only makes two different resources take turns.
        await tx.query(sql`
          SELECT pg_advisory_xact_lock(
            hashtext(${`fhir-etl send ${source}|${key.member}`}),
            hashtext(${`${key.resourceType}|${key.contentHash}`}))`);
        const [row]: Array<{ state: string; last_error: string | null }> = await queryRows(
          tx,
          sql`
          SELECT state, last_error FROM fhir_etl.sent_resources WHERE ${where(key)}`,
        );
        if (!row) return send({ state: 'absent' });
        if (row.state === 'delivered') return send({ state: 'delivered' });
        return send({ state: 'pending', ...(row.last_error ? { lastError: row.last_error } : {}) });
      });
    },
    async begin(entry) {
      await db.query(sql`
        INSERT INTO fhir_etl.sent_resources
          (source, member, resource_type, content_hash, local_id, state, outcome, sent_at)
        VALUES (${source}, ${entry.member}, ${entry.resourceType}, ${entry.contentHash},
                ${entry.localId ?? null}, 'pending', null, now())
        ON CONFLICT (source, member, resource_type, content_hash) DO NOTHING`);
    },
    async record(entry) {
      await db.query(sql`
        INSERT INTO fhir_etl.sent_resources
          (source, member, resource_type, content_hash, local_id, server_id, location, outcome, state)
        VALUES (${source}, ${entry.member}, ${entry.resourceType}, ${entry.contentHash},
                ${entry.localId ?? null}, ${entry.serverId ?? null}, ${entry.location ?? null},
                ${entry.outcome}, 'delivered')
        ON CONFLICT (source, member, resource_type, content_hash) DO UPDATE SET
          local_id = EXCLUDED.local_id, server_id = EXCLUDED.server_id, location = EXCLUDED.location,
          outcome = EXCLUDED.outcome, state = 'delivered', last_error = null, sent_at = now()`);
    },
    async unconfirmed(key, error) {
      await db.query(sql`
        UPDATE fhir_etl.sent_resources SET last_error = ${error}, sent_at = now()
        WHERE ${where(key)} AND state = 'pending'`);
    },
    async forget(key) {
      await db.query(sql`DELETE FROM fhir_etl.sent_resources WHERE ${where(key)} AND state = 'pending'`);
    },
  };
}
