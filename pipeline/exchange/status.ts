import { type ConnectionPool, sql } from '@databases/pg';
import type { SourceConfig } from '../../config/index.ts';
import { queryRows } from '../../loaders/postgres/query-rows.ts';

/** A payer exchange as `fhir-etl status` shows it. */
export interface ExchangeStatus {
  source: string;
  mode: string | null;
  /** Members sent to the prior payer, and how their latest match came out. */
  submitted: number;
  matched: number;
  not_matched: number;
  consent_constrained: number;
  /** Matched members a pull leaves out (consent ended, gone from the input). */
  pulls_stopped: number;
  last_pull_at: Date | null;
  last_pull_kind: string | null;
  /** When the members are matched again at the latest (match.maxGroupAgeDays after the last match). */
  next_rematch_at: Date | null;
}

const DEFAULT_MAX_GROUP_AGE_DAYS = 30;

/**
 * Per exchange source (configured, or known to the warehouse): the members' outcomes, the last
 * pull, and when the members will be matched again (bulk: the latest round's oldest batch plus
 * match.maxGroupAgeDays; single: the oldest match of a matched member; a 404/410 from the server
 * can bring it forward).
 */
export async function readExchangeStatus(
  db: ConnectionPool,
  configured: SourceConfig[],
): Promise<ExchangeStatus[]> {
  const rows: Array<Omit<ExchangeStatus, 'next_rematch_at'> & { oldest_match: Date | null }> =
    await queryRows(
      db,
      sql`
    WITH members AS (
      SELECT source, count(*)::int AS submitted,
             (count(*) FILTER (WHERE outcome = 'matched'))::int AS matched,
             (count(*) FILTER (WHERE outcome = 'not-matched'))::int AS not_matched,
             (count(*) FILTER (WHERE outcome = 'consent-constrained'))::int AS consent_constrained,
             (count(*) FILTER (WHERE outcome = 'matched' AND pulls_stopped IS NOT NULL))::int AS pulls_stopped,
             min(matched_at) FILTER (WHERE outcome = 'matched') AS oldest_match
      FROM fhir_etl.exchange_members GROUP BY source
    ), pulls AS (
      SELECT DISTINCT ON (source) source, completed_at AS last_pull_at, kind AS last_pull_kind
      FROM fhir_etl.exchange_pulls WHERE state = 'completed' ORDER BY source, completed_at DESC
    ), modes AS (
      SELECT DISTINCT ON (source) source, mode FROM fhir_etl.exchange_matches ORDER BY source, id DESC
    ), rounds AS (
      SELECT DISTINCT ON (source) source, round FROM fhir_etl.exchange_matches
      WHERE mode = 'bulk' AND round IS NOT NULL ORDER BY source, id DESC
    ), round_ages AS (
      -- A bulk round is as old as its oldest completed batch: members gone from the list since
      -- keep their older match, which no longer decides when everyone is matched again.
      SELECT r.source, min(b.completed_at) AS round_matched
      FROM rounds r JOIN fhir_etl.exchange_matches b ON b.round = r.round AND b.state = 'completed'
      GROUP BY r.source
    )
    SELECT m.source, m.submitted, m.matched, m.not_matched, m.consent_constrained, m.pulls_stopped,
           coalesce(a.round_matched, m.oldest_match) AS oldest_match, p.last_pull_at, p.last_pull_kind, o.mode
    FROM members m LEFT JOIN pulls p USING (source) LEFT JOIN modes o USING (source)
      LEFT JOIN round_ages a USING (source)`,
    );
  const bySource = new Map(rows.map((row) => [row.source, row]));
  const exchanges = configured.filter((s) => s.kind === 'payer-exchange');
  const names = [...new Set([...exchanges.map((s) => s.name), ...bySource.keys()])].sort();
  return names.map((source) => {
    const row = bySource.get(source);
    const config = exchanges.find((s) => s.name === source);
    const maxAgeDays = config?.match.maxGroupAgeDays ?? DEFAULT_MAX_GROUP_AGE_DAYS;
    const oldest = row?.oldest_match ?? null;
    return {
      source,
      mode: row?.mode ?? config?.mode ?? null,
      submitted: row?.submitted ?? 0,
      matched: row?.matched ?? 0,
      not_matched: row?.not_matched ?? 0,
      consent_constrained: row?.consent_constrained ?? 0,
      pulls_stopped: row?.pulls_stopped ?? 0,
      last_pull_at: row?.last_pull_at ?? null,
      last_pull_kind: row?.last_pull_kind ?? null,
      next_rematch_at: oldest === null ? null : new Date(oldest.getTime() + maxAgeDays * 86_400_000),
    };
  });
}
