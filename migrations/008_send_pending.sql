-- `fhir-etl send` writes a resource's ledger row *before* it POSTs it, as `pending`, and marks it
-- `delivered` after a definite answer (201, or 200 to a conditional create). A row left pending
-- (the answer was lost, the process died, the ledger write failed, a 202 or 5xx) means the server
-- may hold the resource: a later send does not POST a plain create again unless told to
-- (--resend-pending). Rows written before this migration were all delivered.
ALTER TABLE fhir_etl.sent_resources
  ADD COLUMN state text NOT NULL DEFAULT 'delivered' CHECK (state IN ('pending', 'delivered'));
ALTER TABLE fhir_etl.sent_resources ALTER COLUMN outcome DROP NOT NULL;
ALTER TABLE fhir_etl.sent_resources
  ADD CONSTRAINT sent_resources_outcome_when_delivered CHECK ((state = 'delivered') = (outcome IS NOT NULL));
-- What the last POST of a row still pending got instead of a definite answer (shown on the next send).
ALTER TABLE fhir_etl.sent_resources ADD COLUMN last_error text;
COMMENT ON COLUMN fhir_etl.sent_resources.state IS
  'pending: POSTed (or about to be) without a definite answer yet; delivered: the server confirmed it (outcome).';
