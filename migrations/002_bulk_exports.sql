-- Bulk Data exports: the state a run needs to resume an export after a crash or restart
-- (the status URL, the manifest, each file's state), and the OperationOutcomes of error files.

-- One row per kick-off. `state` moves polling -> downloading -> completed; an export that can
-- no longer finish is failed, expired (the server forgot it) or abandoned (superseded by a
-- run asking for a different _since).
CREATE TABLE fhir_etl.bulk_exports (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source           text        NOT NULL,
  status_url       text        NOT NULL,
  -- The kick-off as sent: URL (credentials redacted), method, parameters.
  request          jsonb       NOT NULL,
  -- The _since sent (null: everything).
  since            text,
  state            text        NOT NULL DEFAULT 'polling'
                   CHECK (state IN ('polling', 'downloading', 'completed', 'failed', 'expired', 'abandoned')),
  -- The manifest's transactionTime (server clock): the next export's _since once this one completes.
  transaction_time text,
  manifest         jsonb,
  run_id           bigint      REFERENCES fhir_etl.runs (id),
  started_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  completed_at     timestamptz,
  error            text
);
CREATE INDEX bulk_exports_source_idx ON fhir_etl.bulk_exports (source, id DESC);

-- One row per file a manifest lists (every page of a paged manifest). The key names the file by
-- its place in the manifest, so it survives a 410 that hands out fresh URLs.
CREATE TABLE fhir_etl.bulk_files (
  export_id     bigint      NOT NULL REFERENCES fhir_etl.bulk_exports (id),
  kind          text        NOT NULL CHECK (kind IN ('output', 'deleted', 'error')),
  resource_type text        NOT NULL,
  index         integer     NOT NULL,
  url           text        NOT NULL,
  count         bigint,
  state         text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'committed')),
  file_key      text        NOT NULL,
  committed_at  timestamptz,
  PRIMARY KEY (export_id, kind, resource_type, index)
);

-- The OperationOutcome issues a manifest's error files reported, for `fhir-etl status`.
CREATE TABLE fhir_etl.bulk_errors (
  source        text        NOT NULL,
  export_id     bigint      NOT NULL REFERENCES fhir_etl.bulk_exports (id),
  resource_type text,
  severity      text,
  code          text,
  diagnostics   text,
  recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bulk_errors_source_idx ON fhir_etl.bulk_errors (source, recorded_at DESC);
