-- A payer exchange's member list is matched in batches of match.batchSize members, one
-- $bulk-member-match request each. The batches that match the whole list once form a round:
-- `round` is the id of the round's first batch, `batch` the request's place in it (1, 2, ...).
-- Each batch's outcomes are recorded as it completes, so a run stopped between batches sends
-- only the members no batch of the round has answered yet. The round's age (from its oldest
-- completed batch) decides when every member is matched again.
ALTER TABLE fhir_etl.exchange_matches
  ADD COLUMN round bigint REFERENCES fhir_etl.exchange_matches (id),
  ADD COLUMN batch integer;
UPDATE fhir_etl.exchange_matches SET round = id, batch = 1 WHERE mode = 'bulk';
CREATE INDEX exchange_matches_round_idx ON fhir_etl.exchange_matches (round);
