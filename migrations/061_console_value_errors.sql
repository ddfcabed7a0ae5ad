-- The console's pipeline pages show value errors (migration 010) beside rejects: a run's count,
-- and each error's place (file, line, resource, view, column) and reason. Never the value
-- itself: it is a member's data.

CREATE OR REPLACE VIEW fhir_etl_status.runs AS
  SELECT id, command, source, status, trigger, started_at, ended_at, files, files_skipped,
         resources, bytes, rejects, counts, view_counts,
         fhir_etl_status.redact_urls(error) AS error, value_errors
  FROM fhir_etl.runs;

CREATE VIEW fhir_etl_status.value_errors AS
  SELECT id, run_id, source, fhir_etl_status.redact_urls(file) AS file, line, resource_type,
         resource_id, view_name, column_name, reason, recorded_at
  FROM fhir_etl.value_errors;
COMMENT ON VIEW fhir_etl_status.value_errors IS
  'Values written as NULL because their column''s type cannot hold them: where and why, never the value.';
