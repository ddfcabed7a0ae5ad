import { type ConnectionPool, sql } from '@databases/pg';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { queryRows } from '../../loaders/postgres/query-rows.ts';

/** One series of a metric: its labels and its value. */
interface Sample<L extends string> {
  labels: Record<L, string>;
  value: number;
}

interface MetricSpec<L extends string> {
  name: string;
  help: string;
  labelNames: L[];
  /** Reads the metric's series from fhir_etl at scrape time. */
  read(db: ConnectionPool): Promise<Array<Sample<L>>>;
}

/**
 * The Prometheus metrics of `fhir-etl schedule`'s endpoint. Every fhir_etl series is read from
 * the warehouse when scraped (prom-client collect callbacks), not counted in memory: each
 * replica reports the same truth, a restart resets nothing, and runs started by hand
 * (`fhir-etl run` from cron or a Kubernetes CronJob) are counted too. The process's own
 * metrics (memory, event loop lag) are this replica's.
 */
export function warehouseMetrics(db: ConnectionPool): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const spec of COUNTERS) fromWarehouse(registry, db, spec, Counter);
  for (const spec of GAUGES) fromWarehouse(registry, db, spec, Gauge);
  return registry;
}

const finished = sql`status <> 'running'`;

const COUNTERS: Array<MetricSpec<string>> = [
  {
    name: 'fhir_etl_runs_total',
    help: 'Finished runs, by source, status (succeeded, failed, skipped) and trigger (manual, schedule, retry).',
    labelNames: ['source', 'status', 'trigger'],
    read: (db) =>
      samples(
        db,
        sql`SELECT source, status, trigger, count(*)::float8 AS value FROM fhir_etl.runs
            WHERE ${finished} GROUP BY source, status, trigger`,
        ['source', 'status', 'trigger'],
      ),
  },
  {
    name: 'fhir_etl_resources_loaded_total',
    help: 'Resources loaded into fhir_raw by finished runs, by source.',
    labelNames: ['source'],
    read: (db) =>
      samples(
        db,
        sql`SELECT source, sum(resources)::float8 AS value FROM fhir_etl.runs WHERE ${finished} GROUP BY source`,
        ['source'],
      ),
  },
  {
    name: 'fhir_etl_view_rows_loaded_total',
    help: 'Rows written to view tables by finished runs, by source and view.',
    labelNames: ['source', 'view'],
    read: (db) =>
      samples(
        db,
        sql`SELECT r.source, v.key AS view, sum(v.value::bigint)::float8 AS value
            FROM fhir_etl.runs r CROSS JOIN LATERAL jsonb_each_text(r.view_counts) v
            WHERE r.status <> 'running' GROUP BY r.source, v.key`,
        ['source', 'view'],
      ),
  },
  {
    name: 'fhir_etl_rejects_total',
    help: 'Lines and resources rejected by finished runs, by source (`fhir-etl rejects` lists them).',
    labelNames: ['source'],
    read: (db) =>
      samples(
        db,
        sql`SELECT source, sum(rejects)::float8 AS value FROM fhir_etl.runs WHERE ${finished} GROUP BY source`,
        ['source'],
      ),
  },
  {
    name: 'fhir_etl_run_seconds_total',
    help: 'Time spent in finished runs, by source (with fhir_etl_runs_total: the mean run duration).',
    labelNames: ['source'],
    read: (db) =>
      samples(
        db,
        sql`SELECT source, sum(extract(epoch FROM ended_at - started_at))::float8 AS value
            FROM fhir_etl.runs WHERE ${finished} GROUP BY source`,
        ['source'],
      ),
  },
  {
    name: 'fhir_etl_schedule_fires_total',
    help: 'Scheduled fires that ended, by source and outcome (succeeded, failed, skipped-overlap, stopped, abandoned).',
    labelNames: ['source', 'outcome'],
    read: (db) =>
      samples(
        db,
        sql`SELECT source, outcome, count(*)::float8 AS value FROM fhir_etl.schedule_fires
            WHERE outcome NOT IN ('claimed', 'running') GROUP BY source, outcome`,
        ['source', 'outcome'],
      ),
  },
];

const lastSuccess = sql`
  SELECT source, max(ended_at) AS ended_at FROM fhir_etl.runs WHERE status = 'succeeded' GROUP BY source`;

const GAUGES: Array<MetricSpec<string>> = [
  {
    name: 'fhir_etl_last_success_timestamp_seconds',
    help: 'When the last successful run of the source ended (Unix time).',
    labelNames: ['source'],
    read: (db) =>
      samples(db, sql`SELECT source, extract(epoch FROM ended_at)::float8 AS value FROM (${lastSuccess}) s`, [
        'source',
      ]),
  },
  {
    name: 'fhir_etl_freshness_seconds',
    help: 'Seconds since the last successful run of the source ended: alert when it exceeds the schedule.',
    labelNames: ['source'],
    read: (db) =>
      samples(
        db,
        sql`SELECT source, extract(epoch FROM clock_timestamp() - ended_at)::float8 AS value FROM (${lastSuccess}) s`,
        ['source'],
      ),
  },
  {
    name: 'fhir_etl_last_run_duration_seconds',
    help: 'Duration of the last finished run of the source, labelled with how it ended.',
    labelNames: ['source', 'status'],
    read: (db) =>
      samples(
        db,
        sql`SELECT DISTINCT ON (source) source, status, extract(epoch FROM ended_at - started_at)::float8 AS value
            FROM fhir_etl.runs WHERE ${finished} AND status <> 'skipped' ORDER BY source, id DESC`,
        ['source', 'status'],
      ),
  },
  {
    name: 'fhir_etl_runs_running',
    help: 'Runs going on now, by source (on any replica or host).',
    labelNames: ['source'],
    read: (db) =>
      samples(
        db,
        sql`SELECT source, (count(*) FILTER (WHERE status = 'running'))::float8 AS value
            FROM fhir_etl.runs GROUP BY source`,
        ['source'],
      ),
  },
];

async function samples<L extends string>(
  db: ConnectionPool,
  query: ReturnType<typeof sql>,
  labelNames: L[],
): Promise<Array<Sample<L>>> {
  const rows: Array<Record<string, unknown>> = await queryRows(db, query);
  return rows.map((row) => ({
    labels: Object.fromEntries(labelNames.map((name) => [name, String(row[name])])) as Record<L, string>,
    value: Number(row.value),
  }));
}

/**
 * A metric whose series are read from the warehouse at each scrape. Each scrape starts from
 * nothing (reset), so a counter reports the warehouse's totals, not this process's.
 */
function fromWarehouse(
  registry: Registry,
  db: ConnectionPool,
  spec: MetricSpec<string>,
  type: typeof Counter | typeof Gauge,
): void {
  new type({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labelNames,
    registers: [registry],
    async collect() {
      const series = await spec.read(db);
      this.reset();
      for (const { labels, value } of series) {
        if (this instanceof Counter) this.inc(labels, value);
        else this.set(labels, value);
      }
    },
  });
}
