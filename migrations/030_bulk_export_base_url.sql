-- The FHIR base URL an export was kicked off at. A run resumes an unfinished export only on the
-- same server: a status URL from the old baseUrl would load the old server's data and checkpoint
-- it as the new one's. Null for exports recorded before this migration: taken as matching.
ALTER TABLE fhir_etl.bulk_exports ADD COLUMN base_url text;
COMMENT ON COLUMN fhir_etl.bulk_exports.base_url IS
  'The source baseUrl the export was kicked off at (null: recorded before base URLs were kept).';
