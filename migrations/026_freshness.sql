-- analytics.freshness: how fresh each source's rows are in each view table, for dashboards
-- (readable by read-only roles, who never read fhir_etl itself: the view reads it for them).

-- Rows of one source in a view table, counted when asked (an index-only scan of the
-- (_source, _resource_id) index). Runs as its caller, who must be able to read the table.
CREATE FUNCTION fhir_etl.source_rows(view_table regclass, source text) RETURNS bigint
LANGUAGE plpgsql STABLE SET search_path = pg_catalog AS $$
DECLARE
  n bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM %s WHERE _source = $1', view_table) INTO n USING source;
  RETURN n;
END
$$;

CREATE VIEW analytics.freshness AS
WITH last_success AS (
  SELECT DISTINCT ON (source) source, id, ended_at, view_counts
  FROM fhir_etl.runs
  WHERE status = 'succeeded' AND source <> '*'
  ORDER BY source, id DESC
), last_attempt AS (
  SELECT DISTINCT ON (source) source, id, status, started_at
  FROM fhir_etl.runs
  WHERE status <> 'skipped' AND source <> '*'
  ORDER BY source, id DESC
), view_tables AS (
  SELECT v.table_schema, v.name, to_regclass(format('%I.%I', v.table_schema, v.name)) AS oid
  FROM fhir_etl.views v
)
SELECT s.source,
       t.table_schema,
       t.name AS table_name,
       s.ended_at AS last_loaded_at,
       s.id AS last_run_id,
       round((extract(epoch FROM now() - s.ended_at) / 3600)::numeric, 2) AS hours_since_load,
       coalesce((s.view_counts ->> t.name)::bigint, 0) AS rows_loaded,
       fhir_etl.source_rows(t.oid, s.source) AS rows,
       a.id AS last_attempt_run_id,
       a.status AS last_attempt_status,
       a.started_at AS last_attempt_at
FROM last_success s
JOIN last_attempt a USING (source)
CROSS JOIN view_tables t
WHERE t.oid IS NOT NULL;

COMMENT ON VIEW analytics.freshness IS
  'How fresh each source''s rows are in each view table: the last successful load of the source, its run, the rows it wrote to the table and the rows the table holds now (one row per source and view table; built by fhir-etl).';
COMMENT ON COLUMN analytics.freshness.source IS 'The source (the _source of its rows).';
COMMENT ON COLUMN analytics.freshness.table_schema IS 'Schema of the view table (fhir by default).';
COMMENT ON COLUMN analytics.freshness.table_name IS 'The view table.';
COMMENT ON COLUMN analytics.freshness.last_loaded_at IS 'When the source''s last successful run (run or load) ended: its rows are current as of then.';
COMMENT ON COLUMN analytics.freshness.last_run_id IS 'Id of that run (fhir-etl status and fhir-etl rejects --run ID show it).';
COMMENT ON COLUMN analytics.freshness.hours_since_load IS 'Hours from last_loaded_at to now.';
COMMENT ON COLUMN analytics.freshness.rows_loaded IS 'Rows that run wrote to this table (0: nothing new for it).';
COMMENT ON COLUMN analytics.freshness.rows IS 'Rows of the source in the table now (counted when queried).';
COMMENT ON COLUMN analytics.freshness.last_attempt_run_id IS 'Id of the source''s latest run, successful or not (skipped runs aside).';
COMMENT ON COLUMN analytics.freshness.last_attempt_status IS 'Its status: running, succeeded or failed. failed with an older last_loaded_at: the data is stale.';
COMMENT ON COLUMN analytics.freshness.last_attempt_at IS 'When that run started.';
