-- Values a view column's PostgreSQL type cannot hold ("1970-02-30" in a date column, 1.5 in an
-- integer column, "yes" in a boolean column). The resource is in fhir_raw and its view row is
-- written with that cell NULL; the value is kept here, with where it came from. A resource's
-- errors in a view are replaced whenever its rows in that view are (a reload of the same data
-- adds none), and go when the resource is deleted or the view rebuilt.
CREATE TABLE fhir_etl.value_errors (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id        bigint      REFERENCES fhir_etl.runs (id),
  source        text        NOT NULL,
  file          text,
  line          bigint,
  resource_type text        NOT NULL,
  resource_id   text        NOT NULL,
  view_name     text        NOT NULL,
  column_name   text        NOT NULL,
  value         text        NOT NULL,
  reason        text        NOT NULL,
  recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX value_errors_resource_idx ON fhir_etl.value_errors (source, resource_type, resource_id);
CREATE INDEX value_errors_run_idx ON fhir_etl.value_errors (run_id);
CREATE INDEX value_errors_view_idx ON fhir_etl.value_errors (view_name);

-- A run's count of recorded value errors, beside its rejects.
ALTER TABLE fhir_etl.runs ADD COLUMN value_errors bigint NOT NULL DEFAULT 0;
