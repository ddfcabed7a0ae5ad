-- A reject of a file that may be downloaded again under another name (a Bulk file of a new
-- export replacing an expired or failed one) is keyed by the file's place in its source
-- (kind, type and index in the manifest), its line and its content: loading the same lines
-- again replaces those rejects instead of recording them twice. Null: not keyed (a local
-- file's rejects are per load, as before).
ALTER TABLE fhir_etl.rejects ADD COLUMN reject_key text;
CREATE UNIQUE INDEX rejects_source_key_idx ON fhir_etl.rejects (source, reject_key) WHERE reject_key IS NOT NULL;
