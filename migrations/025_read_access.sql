-- Read-only access for SQL analysts and BI tools (`fhir-etl db grant-read ROLE`,
-- `warehouse.readers` in the config, the embedded server's `fhir_reader`).
-- Readers get USAGE and SELECT on the view schema, `analytics` and `fhir_etl_status`
-- (and `fhir_raw` when asked), never on `fhir_etl`, which holds tokens and status URLs.

CREATE SCHEMA IF NOT EXISTS analytics;
COMMENT ON SCHEMA analytics IS
  'Marts for BI tools and analysts: plain SQL views over the view tables, each keeping _source (built by fhir-etl).';

CREATE SCHEMA IF NOT EXISTS fhir_etl_status;
COMMENT ON SCHEMA fhir_etl_status IS
  'Pipeline health that is safe for read-only roles (no secrets, tokens or status URLs); built by fhir-etl.';

-- The roles granted read access, so every command that creates a schema or table grants
-- them again there, and a run can say which roles read the warehouse.
CREATE TABLE fhir_etl.readers (
  role        text        PRIMARY KEY,
  raw         boolean     NOT NULL DEFAULT false,
  granted_at  timestamptz NOT NULL DEFAULT now()
);
