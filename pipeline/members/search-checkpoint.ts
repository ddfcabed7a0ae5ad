import { type ConnectionPool, sql } from '@databases/pg';
import type { SqlQueryable } from '../../loaders/postgres/load-transaction.ts';
import type { PagingState } from '../../connectors/rest/index.ts';
import { dropCheckpoint, saveCheckpoints } from '../checkpoints.ts';
import { queryRows } from '../../loaders/postgres/query-rows.ts';

/**
 * A member's search state per resource type, in fhir_etl.checkpoints:
 * `rest:<patient id>:<Type>` holds the `_lastUpdated` cursor, and
 * `rest:<patient id>:<Type>:paging` the search under way (its next page), written in the same
 * transaction as each page's rows. See connectors/rest/incremental-cursor.ts for why the cursor
 * only moves at the end of a search.
 */
export interface SearchCheckpoint {
  cursor?: string;
  paging?: PagingState;
  /** How long ago (by the database's clock) the paging state was written, in milliseconds. */
  pagingAgeMs?: number;
}

/**
 * A search under way older than this is not resumed but started again from the cursor. Servers
 * expire paging links (HAPI FHIR keeps a search's pages for an hour by default; others for
 * minutes), and a run that finds its link this old is better off not asking: the age is
 * counted from the last page committed, when the server handed out the link.
 */
export const PAGING_STATE_MAX_AGE_MS = 60 * 60_000;

export function cursorScope(patientId: string, resourceType: string): string {
  return `rest:${patientId}:${resourceType}`;
}

function pagingScope(patientId: string, resourceType: string): string {
  return `${cursorScope(patientId, resourceType)}:paging`;
}

export async function readSearchCheckpoint(
  db: ConnectionPool,
  source: string,
  patientId: string,
  resourceType: string,
): Promise<SearchCheckpoint> {
  const rows: Array<{ scope: string; value: string; age_ms: number }> = await queryRows(
    db,
    sql`
    SELECT scope, value, (extract(epoch FROM now() - updated_at) * 1000)::float8 AS age_ms
    FROM fhir_etl.checkpoints
    WHERE source = ${source}
      AND scope IN (${cursorScope(patientId, resourceType)}, ${pagingScope(patientId, resourceType)})`,
  );
  const cursor = rows.find((row) => row.scope === cursorScope(patientId, resourceType))?.value;
  const paging = rows.find((row) => row.scope === pagingScope(patientId, resourceType));
  return {
    ...(cursor === undefined ? {} : { cursor }),
    ...(paging === undefined
      ? {}
      : { paging: JSON.parse(paging.value) as PagingState, pagingAgeMs: Number(paging.age_ms) }),
  };
}

/** A search under way that cannot go on (its next link is dead or too old): forget it. */
export async function dropPagingState(
  db: SqlQueryable,
  key: { source: string; patientId: string; resourceType: string },
): Promise<void> {
  await dropCheckpoint(db, key.source, pagingScope(key.patientId, key.resourceType));
}

/** A page of the search committed and more follow: remember where to go on. */
export async function savePagingState(
  tx: SqlQueryable,
  key: { source: string; patientId: string; resourceType: string; runId: number },
  state: PagingState,
): Promise<void> {
  await saveCheckpoints(tx, key, [
    { scope: pagingScope(key.patientId, key.resourceType), value: JSON.stringify(state) },
  ]);
}

/**
 * The last page committed: the search is over, and the cursor moves to `cursor` (when given),
 * forward only: a cursor already later (another run's) is kept.
 */
export async function finishSearch(
  tx: SqlQueryable,
  key: { source: string; patientId: string; resourceType: string; runId: number },
  cursor: string | undefined,
): Promise<void> {
  await dropCheckpoint(tx, key.source, pagingScope(key.patientId, key.resourceType));
  if (cursor === undefined) return;
  await saveCheckpoints(tx, { ...key, forwardOnly: true }, [
    { scope: cursorScope(key.patientId, key.resourceType), value: cursor },
  ]);
}
