-- The fingerprint of the kick-off parameters that define what an export holds (level, Group,
-- operation, exportType, _type, _typeFilter, _elements, patient; not _since/_until). A run
-- resumes an unfinished export only when the source still asks for the same thing; otherwise
-- the export is abandoned (DELETE) and a new one kicked off. Null for exports started before
-- this migration: taken as matching. The checkpoint keeps the same fingerprint under the
-- scope 'bulk:parameters', next to the 'bulk:transactionTime' watermark.
ALTER TABLE fhir_etl.bulk_exports ADD COLUMN fingerprint text;
COMMENT ON COLUMN fhir_etl.bulk_exports.fingerprint IS
  'Fingerprint of the export parameters (what is exported); null: recorded before fingerprints existed.';
