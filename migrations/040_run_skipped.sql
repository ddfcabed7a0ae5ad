-- A run that did nothing on purpose: `fhir-etl run` of a source another process is running
-- (its advisory lock is held) is recorded `skipped`, not `failed`, so failure alerts and
-- retries do not fire on it. Its error column says why it was skipped.
ALTER TABLE fhir_etl.runs DROP CONSTRAINT runs_status_check;
ALTER TABLE fhir_etl.runs ADD CONSTRAINT runs_status_check
  CHECK (status IN ('running', 'succeeded', 'failed', 'skipped'));
COMMENT ON COLUMN fhir_etl.runs.status IS
  'running, succeeded, failed, or skipped (not run: another process was running the source; error says so).';
