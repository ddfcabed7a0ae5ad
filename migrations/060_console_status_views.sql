-- The web console (`fhir-etl ui`) reads the warehouse through a read-only role that is never
-- granted fhir_etl (it holds sealed tokens, Bulk status URLs and rejected lines' raw text).
-- What it may show of the pipeline is here, in fhir_etl_status: views owned by the loader that
-- expose only reader-safe columns. A URL in a path or an error keeps its origin only: a Bulk
-- status or file URL is a capability, and a query string may carry anything.

CREATE SCHEMA IF NOT EXISTS fhir_etl_status;

-- 'failed at https://h.example/status/abc?x=1' -> 'failed at https://h.example/...'
CREATE FUNCTION fhir_etl_status.redact_urls(text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT regexp_replace($1, '(https?://[^/\s''"<>]+)[^\s''"<>]*', '\1/...', 'gi')
$$;

CREATE VIEW fhir_etl_status.runs AS
  SELECT id, command, source, status, trigger, started_at, ended_at, files, files_skipped,
         resources, bytes, rejects, counts, view_counts,
         fhir_etl_status.redact_urls(error) AS error
  FROM fhir_etl.runs;
COMMENT ON VIEW fhir_etl_status.runs IS
  'Every run (load, run, rebuild, scheduled fire): status, timings, counts; URLs in errors keep their origin only.';

CREATE VIEW fhir_etl_status.files AS
  SELECT source, run_id, file_key, fhir_etl_status.redact_urls(path) AS path, bytes, lines, resources, rejects,
         counts, committed_at
  FROM fhir_etl.files;
COMMENT ON VIEW fhir_etl_status.files IS
  'Committed files (each file''s checkpoint) by run; a downloaded file''s URL keeps its origin only.';

-- Rejected lines without their raw text (a member''s data).
CREATE VIEW fhir_etl_status.rejects AS
  SELECT id, run_id, source, fhir_etl_status.redact_urls(file) AS file, line, resource_type,
         resource_id, fhir_etl_status.redact_urls(reason) AS reason, rejected_at
  FROM fhir_etl.rejects;
COMMENT ON VIEW fhir_etl_status.rejects IS
  'Rejected lines: file, line, resource and reason, never the raw text.';

CREATE VIEW fhir_etl_status.bulk_errors AS
  SELECT source, export_id, resource_type, severity, code,
         fhir_etl_status.redact_urls(diagnostics) AS diagnostics, recorded_at
  FROM fhir_etl.bulk_errors;
COMMENT ON VIEW fhir_etl_status.bulk_errors IS
  'OperationOutcome issues of Bulk Data error files, by source and export.';

-- security_barrier: a reader's function in a WHERE clause never sees the members filtered out.
CREATE VIEW fhir_etl_status.members_needing_login WITH (security_barrier) AS
  SELECT source, member_label AS member_id
  FROM fhir_etl.members WHERE needs_login;
COMMENT ON VIEW fhir_etl_status.members_needing_login IS
  'Members whose refresh was refused: `fhir-etl auth login SOURCE --login-hint MEMBER_ID` logs them in again.';

-- Who looked at which member's record in the console, and when. Readers cannot write it
-- directly: they call record_member_view, which runs as its owner (the loader).
CREATE TABLE fhir_etl.member_views (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  viewed_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- The console's user (basic-auth user, 'bearer token', or 'loopback' when it had no auth).
  viewer      text        NOT NULL,
  -- The database role the console read through, and the client's address.
  db_role     text        NOT NULL,
  client      text,
  source      text        NOT NULL,
  patient_id  text        NOT NULL,
  -- What was shown: 'record' (the rendered page) or 'raw' (stored FHIR resources).
  view        text        NOT NULL CHECK (view IN ('record', 'raw'))
);
CREATE INDEX member_views_member_idx ON fhir_etl.member_views (source, patient_id, viewed_at DESC);
COMMENT ON TABLE fhir_etl.member_views IS
  'Audit of the web console: who viewed which member (rendered or raw FHIR) and when.';

CREATE FUNCTION fhir_etl_status.record_member_view(
  p_viewer text, p_source text, p_patient_id text, p_view text, p_client text
) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  INSERT INTO fhir_etl.member_views (viewer, db_role, client, source, patient_id, view)
  VALUES (p_viewer, session_user, p_client, p_source, p_patient_id, p_view)
$$;
REVOKE ALL ON FUNCTION fhir_etl_status.record_member_view(text, text, text, text, text) FROM PUBLIC;
COMMENT ON FUNCTION fhir_etl_status.record_member_view(text, text, text, text, text) IS
  'The console records a member view through this (it runs as the loader); `fhir-etl ui` grants EXECUTE to its reader role.';
