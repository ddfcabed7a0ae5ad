-- The control schema: what ran, what committed, what was rejected.
-- Every later capability (views, connectors, scheduler) records its state here.

CREATE SCHEMA IF NOT EXISTS fhir_etl;
CREATE SCHEMA IF NOT EXISTS fhir_raw;

-- One row per command that loads data (load, run, rebuild).
CREATE TABLE fhir_etl.runs (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  command       text        NOT NULL,
  source        text        NOT NULL,
  status        text        NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'succeeded', 'failed')),
  started_at    timestamptz NOT NULL DEFAULT now(),
  ended_at      timestamptz,
  files         integer     NOT NULL DEFAULT 0,
  files_skipped integer     NOT NULL DEFAULT 0,
  resources     bigint      NOT NULL DEFAULT 0,
  bytes         bigint      NOT NULL DEFAULT 0,
  rejects       bigint      NOT NULL DEFAULT 0,
  counts        jsonb       NOT NULL DEFAULT '{}'::jsonb,
  view_counts   jsonb       NOT NULL DEFAULT '{}'::jsonb,
  error         text,
  host          text,
  pid           integer
);
CREATE INDEX runs_source_started_idx ON fhir_etl.runs (source, started_at DESC);

-- A file's checkpoint: written in the same transaction as the file's rows, so a file
-- is either wholly loaded and recorded here, or not loaded at all.
CREATE TABLE fhir_etl.files (
  source        text        NOT NULL,
  file_key      text        NOT NULL,
  path          text        NOT NULL,
  bytes         bigint      NOT NULL,
  lines         bigint      NOT NULL,
  resources     bigint      NOT NULL,
  rejects       bigint      NOT NULL,
  counts        jsonb       NOT NULL DEFAULT '{}'::jsonb,
  run_id        bigint      NOT NULL REFERENCES fhir_etl.runs (id),
  committed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, file_key)
);

-- Incremental cursors (bulk transactionTime, REST _lastUpdated), one per source and scope.
CREATE TABLE fhir_etl.checkpoints (
  source      text        NOT NULL,
  scope       text        NOT NULL,
  value       text        NOT NULL,
  run_id      bigint      REFERENCES fhir_etl.runs (id),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, scope)
);

-- Lines and resources that could not be loaded, kept with the reason and the raw text.
CREATE TABLE fhir_etl.rejects (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id        bigint      NOT NULL REFERENCES fhir_etl.runs (id),
  source        text        NOT NULL,
  file          text        NOT NULL,
  line          bigint,
  resource_type text,
  resource_id   text,
  reason        text        NOT NULL,
  raw           text,
  rejected_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rejects_run_idx ON fhir_etl.rejects (run_id);

-- True when a copy of a resource (new_*) may replace the stored one (old_*): when both
-- carry meta.lastUpdated the later wins; on a tie, or when either lacks it, a larger
-- numeric versionId wins; with nothing to compare, the copy seen last wins.
CREATE FUNCTION fhir_etl.supersedes(
  new_last_updated timestamptz, new_version text,
  old_last_updated timestamptz, old_version text
) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN new_last_updated IS NOT NULL AND old_last_updated IS NOT NULL
         AND new_last_updated <> old_last_updated
      THEN new_last_updated > old_last_updated
    WHEN new_version ~ '^[0-9]{1,18}$' AND old_version ~ '^[0-9]{1,18}$'
      THEN new_version::bigint >= old_version::bigint
    ELSE true
  END
$$;

-- The fhir_raw.<type> tables created so far (one per resource type seen), for status and rebuild.
CREATE TABLE fhir_etl.raw_tables (
  resource_type text PRIMARY KEY,
  table_name    text NOT NULL UNIQUE,
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- The view tables built so far: which definition each table was built from. A definition that
-- changes (its signature differs) gets its table recreated and rebuilt from fhir_raw.
CREATE TABLE fhir_etl.views (
  name          text PRIMARY KEY,
  resource_type text        NOT NULL,
  table_schema  text        NOT NULL,
  signature     text        NOT NULL,
  definition    jsonb       NOT NULL,
  built_at      timestamptz NOT NULL DEFAULT now()
);
