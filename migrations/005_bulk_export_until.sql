-- Bulk Data STU3 `_until`: an export bounded above. Once such an export completes, its `_until`
-- (not the manifest's transactionTime) is the next export's `_since`, so a resumed export must
-- know the bound it was kicked off with.
ALTER TABLE fhir_etl.bulk_exports ADD COLUMN until text;
COMMENT ON COLUMN fhir_etl.bulk_exports.until IS 'The _until sent (null: up to the transactionTime).';
