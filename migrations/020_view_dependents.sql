-- Tables keep their identity: a changed view migrates its table with ALTER TABLE, and the
-- views that depend on a column it drops or retypes are saved, dropped and recreated around
-- the change (fhir-etl rebuild --cascade, or always for the tool's own views).

-- The tool's own views over the view tables (the analytics marts): they never block a change
-- to a view table. They are saved, dropped and recreated around it without --cascade; when
-- their saved definition no longer fits the migrated table, create_sql (a CREATE OR REPLACE
-- VIEW ... statement kept by whoever creates the mart) makes them again.
CREATE TABLE fhir_etl.owned_views (
  view_schema text NOT NULL,
  view_name   text NOT NULL,
  create_sql  text,
  PRIMARY KEY (view_schema, view_name)
);
COMMENT ON TABLE fhir_etl.owned_views IS
  'Views fhir-etl itself owns over the view tables (analytics marts): recreated automatically when a view table changes.';

-- A dependent view dropped with --cascade that could not be recreated after its table
-- changed: its definition, grants and comment are kept here, so nothing is lost.
CREATE TABLE fhir_etl.dropped_views (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id      bigint REFERENCES fhir_etl.runs (id),
  view_schema text        NOT NULL,
  view_name   text        NOT NULL,
  kind        text        NOT NULL CHECK (kind IN ('view', 'materialized view')),
  definition  text        NOT NULL,
  reason      text        NOT NULL,
  dropped_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE fhir_etl.dropped_views IS
  'Views that depended on a changed view table, dropped by rebuild --cascade and not recreatable: definition and why.';
